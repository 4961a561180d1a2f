// Training resumes from a checkpoint as if it had never stopped: a run cut at step k, written to disk and
// continued in a fresh graph ends with the same parameters and losses, bit for bit, as the straight run.
// Dawn on SwiftShader, on a tiny config that has every op (meta tokens, SSM, global/windowed attention, KV sharing).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../engine/config.ts';
import { nodeGpu } from '../engine/webgpu/node-device.node.ts';
import type { GpuContext } from '../engine/webgpu/device.ts';
import { MqarTask } from '../engine/tasks/mqar.ts';
import { train, TrainError, type TrainCheckpoint, type TrainSettings } from '../engine/train/trainer.ts';
import { loadTrainCheckpoint, saveTrainCheckpoint } from '../engine/train/checkpoint-file.node.ts';
import { TINY_HYBRID } from '../engine/train/tiny-configs.ts';

const config = parseConfig({ ...TINY_HYBRID, vocab_size: 24 });
const task = new MqarTask({ seqLen: 16, vocabSize: 24, pairs: [1, 4] });
const settings: TrainSettings = { steps: 8, batch: 3, lr: 1e-2, seed: 5, logEvery: 100, kernels: 'cpu-like' };

let gpu: GpuContext;
let dir: string;
beforeAll(async () => {
  gpu = await nodeGpu();
  dir = await mkdtemp(path.join(os.tmpdir(), 'hymba-resume-'));
});
afterAll(async () => {
  gpu?.device.destroy();
  await rm(dir, { recursive: true, force: true });
});

describe('resumable training', () => {
  it('a run resumed from the step-3 checkpoint on disk ends where the straight run ends', async () => {
    const straight = await train(gpu.device, config, task, settings);
    straight.graph.dispose();

    const file = path.join(dir, 'ck.safetensors');
    const taken: number[] = [];
    const cut = await train(gpu.device, config, task, { ...settings, checkpointEvery: 3 }, undefined, async (ck) => {
      taken.push(ck.step);
      if (ck.step === 3) await saveTrainCheckpoint(file, ck);
    });
    cut.graph.dispose();
    expect(taken).toEqual([3, 6]);
    // Taking checkpoints does not change the run.
    expect(Array.from(cut.params)).toEqual(Array.from(straight.params));

    const ck = await loadTrainCheckpoint(file);
    expect(ck?.step).toBe(3);
    expect(Array.from(ck!.losses)).toEqual(Array.from(straight.losses.subarray(0, 3)));
    const resumed = await train(gpu.device, config, task, { ...settings, resume: ck! });
    resumed.graph.dispose();
    expect(Array.from(resumed.losses)).toEqual(Array.from(straight.losses));
    expect(Array.from(resumed.params)).toEqual(Array.from(straight.params));
  }, 300_000);

  it('refuses a checkpoint of another run', async () => {
    const ck: TrainCheckpoint = {
      run: { steps: 8, batch: 3, lr: 1e-2, seed: 6 },
      step: 3,
      params: new Float32Array(1),
      adamM: new Float32Array(1),
      adamV: new Float32Array(1),
      dataRng: 0,
      losses: new Float32Array(3),
      curve: [],
      trainSeconds: 0,
    };
    await expect(train(gpu.device, config, task, { ...settings, resume: ck })).rejects.toThrow(TrainError);
    await expect(train(gpu.device, config, task, { ...settings, resume: ck })).rejects.toThrow(/seed":6/);
  });
});
