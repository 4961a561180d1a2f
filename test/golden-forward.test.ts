// Both backends against NVIDIA's own outputs for every golden model (../shared/golden, see its NOTES.md):
// logits, hidden_states_k (k = 0..L), attn_out_i, ssm_out_i, mixer_out_i and last_layer_output within 1e-4.
// The max errors per model and backend are printed (and kept for the report).
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../engine/checkpoint/load.ts';
import { folderFiles } from '../engine/checkpoint/folder.node.ts';
import { CpuEngine } from '../engine/cpu/forward.ts';
import { WebGpuEngine } from '../engine/webgpu/engine.ts';
import { nodeGpu } from '../engine/webgpu/node-device.node.ts';
import { maxAbsDiff } from '../engine/tensor.ts';
import type { Engine } from '../engine/model.ts';
import { goldenDir, goldenNames } from './paths.ts';
import { readExpected } from './webgpu-helpers.ts';

/** Our tap name → the golden tensor name (hidden_states.2 → hidden_states_2, layers.3.attn_out → attn_out_3). */
const goldenName = (tap: string) => tap.replace(/^hidden_states\.(\d+)$/, 'hidden_states_$1').replace(/^layers\.(\d+)\.(\w+)$/, '$2_$1');

const report: string[] = [];
afterAll(() => console.log(`golden max |error| (group: worst over its tensors)\n${report.join('\n')}`));

describe.each(goldenNames)('golden %s', (name) => {
  it.each(['cpu', 'webgpu'] as const)('%s backend matches the official outputs within 1e-4', async (backend) => {
    const dir = goldenDir(name);
    const ck = await loadCheckpoint(folderFiles(dir));
    const expected = readExpected(dir);
    const ids = Array.from(expected('input_ids'));
    const engine: Engine = backend === 'cpu' ? new CpuEngine(ck) : new WebGpuEngine(await nodeGpu(), ck);
    const t0 = performance.now();
    const r = await engine.forward(ids, {
      taps: ['hidden_states.*', 'layers.*.attn_out', 'layers.*.ssm_out', 'layers.*.mixer_out', 'last_layer_output'],
    });
    const ms = performance.now() - t0;
    engine.dispose();
    const groups = new Map<string, number>();
    const note = (group: string, err: number) => groups.set(group, Math.max(groups.get(group) ?? 0, err));
    note('logits', maxAbsDiff(r.logits.data, expected('logits')));
    for (const [tap, t] of r.taps)
      note(tap.replace(/\.\d+/, '').replace(/^layers/, 'layer'), maxAbsDiff(t.data, expected(goldenName(tap))));
    // hidden_states_0..L, attn_out/ssm_out/mixer_out per layer, last_layer_output: every golden tensor compared
    expect(r.taps.size).toBe(ck.config.numLayers + 1 + 3 * ck.config.numLayers + 1);
    report.push(
      `${name} ${backend.padEnd(6)} ${ms.toFixed(0).padStart(5)} ms  ` +
        [...groups].map(([g, e]) => `${g} ${e.toExponential(1)}`).join('  '),
    );
    for (const [group, err] of groups) expect(err, `${name} ${backend} ${group}`).toBeLessThan(1e-4);
  });
});
