// The English stream through the training graph (Dawn WebGPU): the validation loss the trainer records at
// evalEvery (graphLoss) is the exact next-token loss the inference engine gives on the same windows.
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../engine/config.ts';
import { weightF32 } from '../engine/checkpoint/load.ts';
import { CpuEngine } from '../engine/cpu/forward.ts';
import { randomCheckpoint } from '../engine/session/random-checkpoint.ts';
import { loadEnglishData, type EnglishData } from '../engine/text/english.node.ts';
import { engineLogits, textLoss } from '../engine/text/lm-eval.ts';
import { TrainGraph } from '../engine/train/graph.ts';
import { paramLayout } from '../engine/train/params.ts';
import { TINY_HYBRID } from '../engine/train/tiny-configs.ts';
import { graphLoss } from '../engine/train/trainer.ts';
import { kernelProfileOf } from '../engine/webgpu/runtime.ts';
import { nodeGpu } from '../engine/webgpu/node-device.node.ts';

let data: EnglishData;
beforeAll(async () => {
  data = await loadEnglishData({ seqLen: 16 });
}, 60_000);

describe('English validation loss on the training graph', () => {
  it('graphLoss equals the CPU engine’s text loss on the same windows (meta tokens included)', async () => {
    const config = parseConfig({ ...TINY_HYBRID, vocab_size: 2048 });
    const ck = randomCheckpoint(config, 4);
    const windows = data.validation.slice(0, 4);
    const cpu = await textLoss(engineLogits(new CpuEngine(ck)), 2048, windows);

    const ctx = await nodeGpu();
    const layout = paramLayout(config);
    const flat = new Float32Array(layout.total);
    for (const e of layout.entries) flat.set(weightF32(ck.weights.get(e.name)!), e.offset);
    const graph = new TrainGraph(
      ctx.device,
      config,
      { batch: 2, seqLen: 16, maxTargets: 32, kernels: kernelProfileOf(ctx.adapterInfo) },
      4,
    );
    await graph.setParams(flat);
    const gpu = await graphLoss(graph, windows, 1);
    graph.dispose();
    expect(cpu.tokens).toBe(64);
    expect(cpu.loss).toBeGreaterThan(1); // a random model: far from a trivial loss
    expect(gpu).toBeCloseTo(cpu.loss, 3);
  }, 120_000);
});
