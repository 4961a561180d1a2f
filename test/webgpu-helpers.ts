// Shared by the WebGPU tests: a runtime on Dawn, uploads/readbacks, seeded random data, dtype rounding.
import { nodeGpu } from '../engine/webgpu/node-device.node.ts';
import { GpuRuntime, type GpuTensor, type KernelProfile, type Pass } from '../engine/webgpu/runtime.ts';
import { floatToBf16, floatToHalf, halfToFloat } from '../engine/checkpoint/safetensors.ts';
import type { Checkpoint, Weight } from '../engine/checkpoint/load.ts';
import { parseConfig, type HymbaConfig } from '../engine/config.ts';
import { randomCheckpoint } from '../engine/session/random-checkpoint.ts';
import { maxAbsDiff, tensor, type Tensor } from '../engine/tensor.ts';
import { CpuEngine } from '../engine/cpu/forward.ts';
import { WebGpuEngine, type WebGpuEngineOptions } from '../engine/webgpu/engine.ts';
import type { ForwardOptions } from '../engine/model.ts';
import { expect } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { headerLength, parseHeader, toFloat32 } from '../engine/checkpoint/safetensors.ts';

/** Both kernel profiles (runtime.ts): tests run each variant on this device so neither can rot. */
export const kernelProfiles: KernelProfile[] = ['gpu', 'cpu-like'];

const runtimes = new Map<string, GpuRuntime>();
/** A runtime on Dawn with the given kernel profile (default: what the adapter wants). */
export async function gpuRuntime(profile?: KernelProfile): Promise<GpuRuntime> {
  const key = profile ?? 'default';
  let rt = runtimes.get(key);
  if (!rt) runtimes.set(key, (rt = new GpuRuntime(await nodeGpu(), profile)));
  return rt;
}

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomTensor(shape: number[], seed: number, scale = 1): Tensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(
    shape,
    Float32Array.from({ length: n }, () => scale * (2 * r() - 1)),
  );
}

export function toGpu(rt: GpuRuntime, t: Tensor): GpuTensor {
  return { buffer: rt.upload(t.data, 'test'), shape: t.shape };
}

export function emptyGpu(rt: GpuRuntime, shape: number[]): GpuTensor {
  return { buffer: rt.create(shape.reduce((a, b) => a * b, 1) * 4, 'test-out'), shape };
}

/** Encode with `encode`, submit, and read back each of `outs`. */
export async function runPass(rt: GpuRuntime, encode: (pass: Pass) => void, outs: GpuTensor[]): Promise<Tensor[]> {
  const pass = rt.begin('test');
  encode(pass);
  for (const o of outs)
    pass.read(
      o.buffer,
      o.shape.reduce((a, b) => a * b, 1),
    );
  const data = await pass.submit();
  return data.map((d, i) => tensor(outs[i].shape, d));
}

/** A Weight of the given dtype holding `values` rounded to it, and the rounded values as f32 (for the CPU). */
export function weightOf(
  name: string,
  shape: number[],
  values: Float32Array,
  dtype: Weight['dtype'],
): { weight: Weight; rounded: Float32Array } {
  if (dtype === 'F32') return { weight: { name, dtype, shape, bytes: new Uint8Array(values.slice().buffer) }, rounded: values };
  const bits = Uint16Array.from(values, dtype === 'BF16' ? floatToBf16 : floatToHalf);
  const rounded = Float32Array.from(bits, (b) =>
    dtype === 'BF16' ? new Float32Array(new Uint32Array([b << 16]).buffer)[0] : halfToFloat(b),
  );
  return { weight: { name, dtype, shape, bytes: new Uint8Array(bits.buffer) }, rounded };
}

/** Every weight of a checkpoint re-stored as f16 or bf16 (the CPU decodes the same rounded values). */
export function withDtype(ck: Checkpoint, dtype: Weight['dtype']): Checkpoint {
  const weights = new Map<string, Weight>();
  for (const [name, w] of ck.weights) {
    const f = new Float32Array(w.bytes.slice().buffer);
    weights.set(name, weightOf(name, w.shape, f, dtype).weight);
  }
  return { ...ck, weights };
}

/** A tiny Hymba config (GQA 2, dqk 6 ≠ dv 8, 3 meta tokens, window 4, a KV-sharing pair) with overrides. */
export function tinyConfig(overrides: Record<string, unknown> = {}): HymbaConfig {
  return parseConfig({
    model_type: 'hymba',
    hidden_size: 16,
    num_hidden_layers: 3,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    kq_head_dim: 6,
    intermediate_size: 24,
    vocab_size: 40,
    num_memory_tokens: 3,
    sliding_window: 4,
    global_attn_idx: [0],
    kv_reuse_group: [[1, 2]],
    mamba_d_state: 4,
    mamba_dt_rank: 3,
    mamba_d_conv: 4,
    rope_type: 'ntk',
    ...overrides,
  });
}

export function tinyCheckpoint(overrides: Record<string, unknown> = {}, seed = 1): Checkpoint {
  return randomCheckpoint(tinyConfig(overrides), seed);
}

/** The tensors of a golden model's expected.safetensors, by name, as float32. */
export function readExpected(dir: string): (name: string) => Float32Array {
  const file = path.join(dir, 'expected.safetensors');
  const buf = new Uint8Array(readFileSync(file));
  const header = parseHeader(file, buf.subarray(8, 8 + headerLength(file, buf.subarray(0, 8), buf.length)), buf.length);
  return (name) => {
    const e = header.tensors.get(name);
    if (!e) throw new Error(`${file} has no tensor ${name}`);
    return toFloat32(e, buf.subarray(e.begin, e.end));
  };
}

/** Max |GPU − CPU| over the logits and every tap of one forward pass (both engines must report the same taps). */
export async function worstGpuCpuDiff(
  ck: Checkpoint,
  tokens: number[],
  opts: ForwardOptions,
  engineOpts: WebGpuEngineOptions = {},
): Promise<number> {
  const gpu = await WebGpuEngine.create(await nodeGpu(), ck, engineOpts);
  try {
    const [g, c] = [await gpu.forward(tokens, opts), await new CpuEngine(ck).forward(tokens, opts)];
    expect(g.logits.shape).toEqual(c.logits.shape);
    expect([...g.taps.keys()].sort()).toEqual([...c.taps.keys()].sort());
    let worst = maxAbsDiff(g.logits, c.logits);
    for (const [name, t] of c.taps) {
      expect(g.taps.get(name)!.shape, name).toEqual(t.shape);
      worst = Math.max(worst, maxAbsDiff(g.taps.get(name)!, t));
    }
    return worst;
  } finally {
    gpu.dispose();
  }
}
