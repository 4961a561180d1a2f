// The WGSL training graph (Dawn; SwiftShader here) against the float64 reference: its forward logits equal the CPU
// inference engine's, and every parameter's gradient — hence every backward kernel, composed — matches the
// reference backward and finite differences of the reference loss.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../engine/config.ts';
import { nodeGpu } from '../engine/webgpu/node-device.node.ts';
import { Rng } from '../engine/tasks/rng.ts';
import { TrainGraph } from '../engine/train/graph.ts';
import { initParams, paramLayout, paramTensors } from '../engine/train/params.ts';
import { referenceLossAndGrads } from '../engine/train/reference.ts';
import { TINY_HYBRID, TINY_MIXED, TINY_QKV_CONV } from '../engine/train/tiny-configs.ts';
import { CpuEngine } from '../engine/cpu/forward.ts';
import { loadCheckpoint, memoryFiles } from '../engine/checkpoint/load.ts';
import { writeSafetensors } from '../engine/checkpoint/safetensors.ts';

function perturbedParams(raw: Record<string, unknown>, seed: number): Float32Array {
  const config = parseConfig(raw);
  const flat = initParams(config, new Rng(seed));
  const rng = new Rng(seed + 100);
  for (let i = 0; i < flat.length; i++) flat[i] += 0.2 * rng.normal();
  return flat;
}

/** A batch in both layouts: per-sequence lists (reference) and the graph's flat arrays. */
function batchOf(ids: number[][], targets: number[][], M: number) {
  const L = ids[0].length;
  const rows: number[] = [];
  const labels: number[] = [];
  targets.forEach((t, b) => t.forEach((y, j) => y >= 0 && (rows.push(b * (M + L) + M + j), labels.push(y))));
  return {
    ref: { ids, targets },
    gpu: { ids: Uint32Array.from(ids.flat()), rows: Uint32Array.from(rows), labels: Uint32Array.from(labels) },
  };
}

describe('training graph on WebGPU', () => {
  for (const [name, raw] of [
    ['hybrid + SWA + KV sharing + meta', TINY_HYBRID],
    ['attention / SSM / hybrid layers', TINY_MIXED],
    ['with the Q/K/V short conv (lab_qkv_conv)', TINY_QKV_CONV],
  ] as const) {
    it(`${name}: loss and every parameter gradient match the float64 reference`, async () => {
      const { device } = await nodeGpu();
      const config = parseConfig(raw);
      const layout = paramLayout(config);
      const flat = perturbedParams(raw, 7);
      const rng = new Rng(11);
      const ids = [0, 1, 2].map(() => Array.from({ length: 9 }, () => rng.int(0, config.vocabSize)));
      const targets = ids.map((s) => s.map((_, j) => (j % 3 === 1 ? rng.int(0, config.vocabSize) : -1)));
      const batch = batchOf(ids, targets, config.numMetaTokens);
      // kChunk 4 forces the split-K path of the weight gradients (R = 3 · (M + 9) rows).
      const graph = new TrainGraph(device, config, { batch: 3, seqLen: 9, maxTargets: 12, kChunk: 4 });
      await graph.validate();
      await graph.setParams(flat);
      graph.setBatch(batch.gpu);
      graph.gradients();
      const gpuGrads = await graph.readGrads();
      const [gpuLoss] = await graph.readLosses(0, 1);
      graph.dispose();
      const refGrads = new Float64Array(layout.total);
      const refLoss = referenceLossAndGrads(config, layout, Float64Array.from(flat), batch.ref, refGrads);
      expect(Math.abs(gpuLoss - refLoss)).toBeLessThan(1e-5);
      let worst = 0;
      for (const e of layout.entries) {
        let scale = 0;
        let err = 0;
        for (let i = e.offset; i < e.offset + e.size; i++) {
          scale = Math.max(scale, Math.abs(refGrads[i]));
          err = Math.max(err, Math.abs(gpuGrads[i] - refGrads[i]));
        }
        const rel = err / Math.max(scale, 1e-6);
        worst = Math.max(worst, rel);
        expect(rel, `${e.name}: max error ${err} at gradient scale ${scale}`).toBeLessThan(2e-4);
      }
      console.log(`${name}: loss ${gpuLoss} vs ${refLoss}; worst relative gradient error ${worst.toExponential(2)}`);
      // And against central differences of the reference loss, for a spread of single parameters.
      const p64 = Float64Array.from(flat);
      const pick = new Rng(5);
      for (let k = 0; k < 24; k++) {
        const e = layout.entries[pick.int(0, layout.entries.length)];
        const i = e.offset + pick.int(0, e.size);
        const h = 1e-5;
        const old = p64[i];
        p64[i] = old + h;
        const up = referenceLossAndGrads(config, layout, p64, batch.ref);
        p64[i] = old - h;
        const down = referenceLossAndGrads(config, layout, p64, batch.ref);
        p64[i] = old;
        expect(Math.abs(gpuGrads[i] - (up - down) / (2 * h)), e.name).toBeLessThan(2e-5 + 1e-3 * Math.abs(gpuGrads[i]));
      }
    });
  }

  it('its forward logits equal CpuEngine.forward on the same weights', async () => {
    const { device } = await nodeGpu();
    const config = parseConfig(TINY_HYBRID);
    const layout = paramLayout(config);
    const flat = perturbedParams(TINY_HYBRID, 3);
    const ids = [5, 1, 4, 1, 5, 9, 2, 6, 5, 3];
    const graph = new TrainGraph(device, config, { batch: 1, seqLen: ids.length, maxTargets: ids.length });
    await graph.setParams(flat);
    const M = config.numMetaTokens;
    graph.setBatch({ ids: Uint32Array.from(ids), rows: Uint32Array.from(ids.map((_, j) => M + j)), labels: new Uint32Array(ids.length) });
    graph.forward();
    const logits = await graph.readLogits();
    graph.dispose();
    const ck = await loadCheckpoint(
      memoryFiles('tiny', {
        'config.json': JSON.stringify(TINY_HYBRID),
        'model.safetensors': writeSafetensors(paramTensors(layout, flat)),
      }),
    );
    const cpu = await new CpuEngine(ck).forward(ids);
    let err = 0;
    for (let i = 0; i < logits.length; i++) err = Math.max(err, Math.abs(logits[i] - cpu.logits.data[i]));
    expect(err).toBeLessThan(1e-4);
  });
});
