// Weights on the GPU. Matrices (embedding, meta tokens, every nn.Linear) keep their stored dtype: f32 as f32,
// f16/bf16 packed two per u32 and unpacked in the shader (no `shader-f16`, which SwiftShader and NVIDIA-Vulkan
// lack). A matrix larger than the device's maxStorageBufferBindingSize is split into row chunks, each its own
// buffer; the gather and linear kernels are dispatched once per chunk with the chunk's first row as a parameter.
// Vectors (norm gains, biases, D, A, conv taps) are small and are uploaded as f32.

import { weightF32, type Checkpoint, type Weight } from '../checkpoint/load.ts';
import { expectedTensors, type HymbaConfig } from '../config.ts';
import type { GpuRuntime } from './runtime.ts';

export type WeightDType = Weight['dtype'];

export interface MatrixChunk {
  buffer: GPUBuffer;
  /** First row of the matrix held by this chunk, and how many rows. */
  row0: number;
  rows: number;
}

export interface GpuMatrix {
  name: string;
  dtype: WeightDType;
  rows: number;
  cols: number;
  chunks: MatrixChunk[];
}

export class WeightTooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WeightTooLargeError';
  }
}

export const bytesPerElement = (d: WeightDType): number => (d === 'F32' ? 4 : 2);

/** Upload a [rows, cols] weight (a 3-D conv weight counts as [E, K]) in chunks of at most maxBindingBytes. */
export function uploadMatrix(rt: GpuRuntime, w: Weight, maxBindingBytes: number): GpuMatrix {
  const rows = w.shape[0];
  const cols = w.shape.slice(1).reduce((a, b) => a * b, 1);
  const rowBytes = cols * bytesPerElement(w.dtype);
  // Each chunk is its own buffer starting at element 0, so 16-bit chunks need no alignment beyond padding to 4 bytes.
  let rowsPerChunk = Math.floor((maxBindingBytes - 4) / rowBytes);
  if (rowsPerChunk < 1) {
    throw new WeightTooLargeError(`${w.name}: one row is ${rowBytes} bytes, more than the device binds at once (${maxBindingBytes})`);
  }
  rowsPerChunk = Math.min(rows, rowsPerChunk);
  const chunks: MatrixChunk[] = [];
  for (let row0 = 0; row0 < rows; row0 += rowsPerChunk) {
    const n = Math.min(rowsPerChunk, rows - row0);
    const bytes = w.bytes.subarray(row0 * rowBytes, (row0 + n) * rowBytes);
    chunks.push({ buffer: rt.upload(bytes, `${w.name}[${row0}:${row0 + n}]`), row0, rows: n });
  }
  return { name: w.name, dtype: w.dtype, rows, cols, chunks };
}

// ---- Where the engine's weights come from: a loaded checkpoint, or deterministic random values made on the GPU.

/** Tensors the engine keeps as matrices on the GPU (stored dtype, chunked); every other tensor is a small f32 vector. */
function isMatrix(name: string): boolean {
  return /(embed_tokens\.weight|memory_tokens|lm_head\.weight|_proj\.weight|_proj\.0\.weight)$/.test(name);
}

export interface WeightSource {
  readonly config: HymbaConfig;
  readonly label: string;
  /** A matrix on the GPU in chunks of at most maxBindingBytes. */
  matrix(rt: GpuRuntime, name: string, maxBindingBytes: number): GpuMatrix;
  /** A small tensor (norm gain, bias, A_log, D, conv taps) as f32 on the host. */
  vector(name: string): Float32Array;
}

export function checkpointSource(ck: Checkpoint): WeightSource {
  const weight = (name: string): Weight => {
    const w = ck.weights.get(name);
    if (!w) throw new Error(`weight ${name} is not in the checkpoint`);
    return w;
  };
  return {
    config: ck.config,
    label: ck.label ?? 'checkpoint',
    matrix: (rt, name, max) => uploadMatrix(rt, weight(name), max),
    vector: (name) => weightF32(weight(name)),
  };
}

/** One tensor of the GPU-side weight set: its shape, stored dtype, and the rows of each buffer it is split into. */
export interface PlannedWeight {
  name: string;
  shape: number[];
  dtype: WeightDType;
  /** Rows per chunk (one entry for an unsplit matrix); vectors are one f32 buffer. */
  chunkRows: number[];
  bytes: number;
}

/** The weight set a config needs on the GPU, with matrices at `dtype` split under the binding limit (no allocation). */
export function planWeights(c: HymbaConfig, dtype: WeightDType, maxBindingBytes: number): PlannedWeight[] {
  return [...expectedTensors(c)].map(([name, shape]) => {
    if (!isMatrix(name)) return { name, shape, dtype: 'F32', chunkRows: [shape[0]], bytes: 4 * shape.reduce((a, b) => a * b, 1) };
    const cols = shape.slice(1).reduce((a, b) => a * b, 1);
    const rowBytes = cols * bytesPerElement(dtype);
    const per = Math.min(shape[0], Math.floor((maxBindingBytes - 4) / rowBytes));
    if (per < 1)
      throw new WeightTooLargeError(`${name}: one row is ${rowBytes} bytes, more than the device binds at once (${maxBindingBytes})`);
    const chunkRows: number[] = [];
    for (let r = 0; r < shape[0]; r += per) chunkRows.push(Math.min(per, shape[0] - r));
    return { name, shape, dtype, chunkRows, bytes: shape[0] * rowBytes };
  });
}
