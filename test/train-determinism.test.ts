// Training is reproducible: a seeded run gives bit-identical losses twice, and the train lab's pausable session
// (engine/train/train-session.ts) is the same computation as the CLI trainer's train(): same losses, bit for
// bit, however the run is cut into chunks, and with its initial loss (step 1's forward alone) read first. Dawn on SwiftShader, on a tiny config that has every op.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../engine/config.ts';
import { nodeGpu } from '../engine/webgpu/node-device.node.ts';
import type { GpuContext } from '../engine/webgpu/device.ts';
import { MqarTask } from '../engine/tasks/mqar.ts';
import { train, type TrainSettings } from '../engine/train/trainer.ts';
import { TINY_HYBRID } from '../engine/train/tiny-configs.ts';
import { TrainSession } from '../engine/train/train-session.ts';

// MQAR small enough for the tiny model: 16 tokens, vocabulary 24 (the config's vocab is raised to match).
const config = parseConfig({ ...TINY_HYBRID, vocab_size: 24 });
const task = new MqarTask({ seqLen: 16, vocabSize: 24, pairs: [1, 4] });
const settings: TrainSettings = { steps: 6, batch: 3, lr: 1e-2, seed: 7, logEvery: 100 };

let gpu: GpuContext;
beforeAll(async () => {
  gpu = await nodeGpu();
});
afterAll(() => gpu?.device.destroy());

async function sessionLosses(chunks: number[], s = settings): Promise<Float32Array> {
  const session = await TrainSession.create(gpu.device, config, task, s);
  const parts: number[] = [];
  for (const c of chunks) parts.push(...(await session.advance(c)));
  expect(session.done).toBe(true);
  const all = await session.losses();
  session.dispose();
  expect(Array.from(all)).toEqual(parts);
  return all;
}

describe('training determinism', () => {
  it('a seeded run gives bit-identical losses twice, and the loss falls', async () => {
    const a = await train(gpu.device, config, task, settings);
    const b = await train(gpu.device, config, task, settings);
    a.graph.dispose();
    b.graph.dispose();
    expect(a.losses.length).toBe(6);
    expect(Array.from(a.losses)).toEqual(Array.from(b.losses));
    expect(Array.from(a.params)).toEqual(Array.from(b.params));
    expect(a.losses[5]).toBeLessThan(a.losses[0]);
  });

  it('the train lab session equals train(), in one chunk or several', async () => {
    const reference = await train(gpu.device, config, task, settings);
    reference.graph.dispose();
    expect(Array.from(await sessionLosses([6]))).toEqual(Array.from(reference.losses));
    expect(Array.from(await sessionLosses([1, 2, 10]))).toEqual(Array.from(reference.losses));
  });

  it("the initial loss (step 1's forward alone, shown first) is step 1's loss, and the run stays train()'s to the bit", async () => {
    const reference = await train(gpu.device, config, task, settings);
    reference.graph.dispose();
    const session = await TrainSession.create(gpu.device, config, task, settings);
    const initial = await session.initialLoss();
    expect(session.step).toBe(0);
    expect(initial).toBe(reference.losses[0]);
    expect(await session.initialLoss()).toBe(initial); // asked again: the same forward, not a second batch
    const first = await session.advance(1);
    expect(Array.from(first)).toEqual([initial]);
    await session.advance(5);
    expect(Array.from(await session.losses())).toEqual(Array.from(reference.losses));
    expect(Array.from(await session.params())).toEqual(Array.from(reference.params));
    await expect(session.initialLoss()).rejects.toThrow(/before step 1/);
    session.dispose();
  });

  it('another seed gives other losses (the seed is really used)', async () => {
    const a = await sessionLosses([6]);
    const b = await sessionLosses([6], { ...settings, seed: 8 });
    expect(Array.from(a)).not.toEqual(Array.from(b));
  });
});
