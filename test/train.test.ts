// Training on WebGPU (SwiftShader here): a short seeded run lowers the loss, and running it again gives
// bit-identical losses (no order-dependent float atomics anywhere). Also the learning-rate schedule.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../engine/config.ts';
import { nodeGpu } from '../engine/webgpu/node-device.node.ts';
import { MqarTask } from '../engine/tasks/mqar.ts';
import { learningRate, train, TrainError } from '../engine/train/trainer.ts';
import { kernelProfileOf } from '../engine/webgpu/runtime.ts';

const SMALL = {
  model_type: 'hymba',
  hidden_size: 16,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  intermediate_size: 16,
  vocab_size: 32,
  mamba_expand: 2,
  mamba_d_state: 4,
  mamba_dt_rank: 2,
  num_memory_tokens: 2,
  sliding_window: 4,
  global_attn_idx: [],
  max_position_embeddings: 64,
  rope_type: 'default',
};

describe('training', () => {
  it('lowers the loss, and a seeded run is bit-identical when repeated', async () => {
    const ctx = await nodeGpu();
    const config = parseConfig(SMALL);
    const task = new MqarTask({ seqLen: 16, vocabSize: 32, pairs: 2 });
    const settings = { steps: 20, batch: 8, lr: 1e-2, seed: 3, logEvery: 20, kernels: kernelProfileOf(ctx.adapterInfo) };
    const a = await train(ctx.device, config, task, settings);
    a.graph.dispose();
    const first = a.losses.slice(0, 4).reduce((s, v) => s + v, 0) / 4;
    const last = a.losses.slice(-4).reduce((s, v) => s + v, 0) / 4;
    // Chance level is ln(16) ≈ 2.77 over the value half of the vocabulary; the start is ≈ ln(32).
    expect(first).toBeGreaterThan(3);
    expect(last).toBeLessThan(first - 0.25);
    const b = await train(ctx.device, config, task, settings);
    b.graph.dispose();
    expect(Array.from(b.losses)).toEqual(Array.from(a.losses));
    expect(Array.from(b.params)).toEqual(Array.from(a.params));
  }, 300_000);

  it('refuses a task the model cannot hold, naming the problem', async () => {
    const ctx = await nodeGpu();
    await expect(train(ctx.device, parseConfig(SMALL), new MqarTask(), { steps: 1, batch: 1, lr: 1e-3, seed: 0 })).rejects.toThrow(
      TrainError,
    );
    await expect(
      train(ctx.device, parseConfig(SMALL), new MqarTask({ seqLen: 16, vocabSize: 32, pairs: 2 }), {
        steps: 0,
        batch: 1,
        lr: 1e-3,
        seed: 0,
      }),
    ).rejects.toThrow(/steps/);
  });

  it('warms up linearly for 5 % of the steps, then follows the cosine to zero', () => {
    expect(learningRate(0, 1000, 1)).toBeCloseTo((1 / 50) * 0.5 * (1 + Math.cos(0)), 10);
    expect(learningRate(49, 1000, 1)).toBeCloseTo(0.5 * (1 + Math.cos((Math.PI * 49) / 1000)), 10);
    expect(learningRate(500, 1000, 2)).toBeCloseTo(1, 10);
    expect(learningRate(999, 1000, 1)).toBeLessThan(1e-4);
  });
});
