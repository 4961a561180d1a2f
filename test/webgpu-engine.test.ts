// WebGpuEngine against CpuEngine on small random models: options, variant configs, dtypes, split weights, steps,
// typed errors and GPU memory accounting.
import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../engine/cpu/forward.ts';
import { WebGpuEngine, type WebGpuEngineOptions } from '../engine/webgpu/engine.ts';
import { nodeGpu } from '../engine/webgpu/node-device.node.ts';
import { parseAblation } from '../engine/ablation.ts';
import { InputError, type ForwardOptions } from '../engine/model.ts';
import { maxAbsDiff } from '../engine/tensor.ts';
import type { Checkpoint } from '../engine/checkpoint/load.ts';
import { kernelProfiles, tinyCheckpoint, withDtype, worstGpuCpuDiff } from './webgpu-helpers.ts';

const ids = [1, 7, 3, 39, 12, 5, 5, 20, 0, 8, 31];
const taps = ['hidden_states.*', 'layers.*.attn_out', 'layers.*.ssm_out', 'layers.*.mixer_out', 'layers.*.fused', 'last_layer_output'];

/** Max |GPU − CPU| over the logits and the taps. */
const compare = (ck: Checkpoint, opts: ForwardOptions, tokens = ids, engineOpts: WebGpuEngineOptions = {}): Promise<number> =>
  worstGpuCpuDiff(ck, tokens, { taps, ...opts }, engineOpts);

describe.each(kernelProfiles)('WebGpuEngine vs CpuEngine on random small models, %s kernel profile', (kernelProfile) => {
  // compare() with this profile's kernels.
  const compareIn = (ck: Checkpoint, opts: ForwardOptions, tokens = ids, engineOpts: WebGpuEngineOptions = {}) =>
    compare(ck, opts, tokens, { ...engineOpts, kernelProfile });
  it('default options, meta tokens off, an ablation and a window override agree', async () => {
    const ck = tinyCheckpoint();
    expect(await compareIn(ck, {})).toBeLessThan(1e-4);
    expect(await compareIn(ck, { meta: false })).toBeLessThan(1e-4);
    expect(await compareIn(ck, { ablation: parseAblation('attn@1:0,ssm@2,attn@*:3', ck.config) })).toBeLessThan(1e-4);
    expect(await compareIn(ck, { window: 2 })).toBeLessThan(1e-4);
    // One token without meta tokens: every matmul takes the T = 1 (GEMV) path.
    expect(await compareIn(ck, { meta: false }, [4])).toBeLessThan(1e-4);
  });

  it('variant configs: attention-only and SSM-only layers, per-layer head counts', async () => {
    const mixers = tinyCheckpoint(
      { num_hidden_layers: 4, lab_mixers: ['ssm', 'attention', 'hybrid', 'attention'], global_attn_idx: [0, 3], kv_reuse_group: [[1, 2]] },
      2,
    );
    expect(await compareIn(mixers, {})).toBeLessThan(1e-4);
    // 2, 4 and 8 heads with 2 KV heads (GQA 1, 2, 4); dv = 32/heads; d_state 16
    const heads = tinyCheckpoint({ lab_attention_heads: [2, 8, 8], mamba_d_state: 16, kv_reuse_group: [[1, 2]] }, 3);
    expect(await compareIn(heads, { taps: [...taps, 'layers.*.attn.probs', 'layers.*.ssm.states'] })).toBeLessThan(1e-4);
  });

  it('f16 and bf16 weights (the CPU decodes the same rounded values) and weights split into chunks', async () => {
    const ck = tinyCheckpoint({}, 4);
    expect(await compareIn(withDtype(ck, 'F16'), {})).toBeLessThan(1e-4);
    expect(await compareIn(withDtype(ck, 'BF16'), {})).toBeLessThan(1e-4);
    // 200 bytes per chunk: the embedding (40 × 16 f32) is split in 13 chunks, in_proj and the MLP too.
    expect(await compareIn(ck, {}, ids, { maxBindingBytes: 200 })).toBeLessThan(1e-4);
  });
});

describe('WebGpuEngine steps()', () => {
  it('runs the CPU op list, name for name, and ends with the logits of forward()', async () => {
    const ck = tinyCheckpoint({}, 5);
    const gpu = new WebGpuEngine(await nodeGpu(), ck);
    const cpuNames: string[] = [];
    for await (const s of new CpuEngine(ck).steps(ids)) cpuNames.push(s.name);
    const names: string[] = [];
    let last: Awaited<ReturnType<typeof gpu.forward>>['logits'] | null = null;
    let midTap = 0;
    for await (const s of gpu.steps(ids)) {
      names.push(s.name);
      expect(s.total).toBe(cpuNames.length);
      if (s.name === 'layers.1.ssm_out') midTap = (await s.read('layers.1.in_proj')).shape[1];
      if (s.name === 'logits') last = await s.read('logits');
    }
    expect(names).toEqual(cpuNames);
    expect(midTap).toBe(ck.config.layers[1].rows.total);
    expect(maxAbsDiff(last!, (await gpu.forward(ids)).logits)).toBe(0);
    gpu.dispose();
  });
});

describe('WebGpuEngine errors and memory', () => {
  it('bad input gets typed errors', async () => {
    const gpu = new WebGpuEngine(await nodeGpu(), tinyCheckpoint());
    await expect(gpu.forward([])).rejects.toThrow(InputError);
    await expect(gpu.forward([1, 40])).rejects.toThrow(/token id 40 at position 1 is outside the vocabulary 0..39/);
    await expect(gpu.forward([1], { taps: ['layers.0.nope'] })).rejects.toThrow(/unknown tap "layers.0.nope"/);
    await expect(gpu.forward([1], { window: 0 })).rejects.toThrow(InputError);
    const it0 = gpu.steps([1, 2]);
    const first = (await it0.next()).value!;
    await expect(first.read('layers.0.attn.probs')).rejects.toThrow(/has not been computed/);
    await it0.return(undefined);
    gpu.dispose();
  });

  it('repeated passes do not grow GPU memory; dispose frees every buffer', async () => {
    const gpu = new WebGpuEngine(await nodeGpu(), tinyCheckpoint());
    const weights = gpu.allocatedBytes();
    expect(weights).toBeGreaterThan(0);
    await gpu.forward(ids, { taps: ['layers.*.attn.probs'] });
    const afterOne = gpu.allocatedBytes();
    for (let k = 0; k < 3; k++) await gpu.forward(ids, { taps: ['layers.*.attn.probs'] });
    expect(gpu.allocatedBytes()).toBe(afterOne);
    gpu.trim();
    expect(gpu.allocatedBytes()).toBeLessThan(afterOne);
    gpu.dispose();
    expect(gpu.allocatedBytes()).toBe(0);
    await expect(gpu.forward(ids)).rejects.toThrow(/disposed/);
  });
});
