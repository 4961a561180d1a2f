// Weights on the GPU. Matrices (embedding, meta tokens, every nn.Linear) keep their stored dtype: f32 as f32,
// f16/bf16 packed two per u32 and unpacked in the shader (no `shader-f16`, which SwiftShader and NVIDIA-Vulkan
// lack). A matrix larger than the device's maxStorageBufferBindingSize is split into row chunks, each its own
// buffer; the gather and linear kernels are dispatched once per chunk with the chunk's first row as a parameter.
// Vectors (norm gains, biases, D, A, conv taps) are small and are uploaded as f32.

import type { Weight } from '../checkpoint/load.ts';
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
