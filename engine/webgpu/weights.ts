// Weights on the GPU. Matrices (embedding, meta tokens, every nn.Linear) keep their stored dtype: f32 as f32,
// f16/bf16 packed two per u32 and unpacked in the shader (no `shader-f16`, which SwiftShader and NVIDIA-Vulkan
// lack). A matrix larger than the device's maxStorageBufferBindingSize is split into row chunks, each its own
// buffer; the gather and linear kernels are dispatched once per chunk with the chunk's first row as a parameter.
// Vectors (norm gains, biases, D, A, conv taps) are small and are uploaded as f32.

import { weightF32, type Checkpoint, type Weight } from '../checkpoint/load.ts';
import { expectedTensors, type HymbaConfig } from '../config.ts';
import { mulberry32 } from '../sampling.ts';
import type { GpuRuntime } from './runtime.ts';
import { randomInitDispatch, randomInitKernel } from './kernels/random-init.ts';

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
export function isMatrix(name: string): boolean {
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

/** How a random tensor is drawn: uniform with this mean and standard deviation (the golden README's draws). */
function randomLaw(c: HymbaConfig, name: string, shape: number[]): { mean: number; std: number } {
  if (/norm\.weight$|layernorm[12]\.weight$/.test(name)) return { mean: 1, std: 0.2 };
  if (name === 'model.embed_tokens.weight' || name === 'lm_head.weight') return { mean: 0, std: 0.5 };
  if (name === 'model.memory_tokens') return { mean: 0, std: 1 };
  if (name.endsWith('D.0')) return { mean: 1, std: 0.3 };
  if (name.endsWith('conv1d.weight')) return { mean: 0, std: 0.4 };
  if (name.endsWith('conv1d.bias')) return { mean: 0, std: 0.2 };
  if (name.endsWith('dt_proj.0.weight')) return { mean: 0, std: 1 / Math.sqrt(3 * c.dtRank) };
  return { mean: 0, std: 1 / Math.sqrt(shape[shape.length - 1]) }; // a linear layer [out, in]: variance 1/fan_in
}

/**
 * Seeded random weights for any config (a full-size model included): matrices are generated by a GPU kernel
 * directly in their stored dtype, vectors on the host. `fill()` runs the GPU part; `readBack()` returns the same
 * values as a Checkpoint for the CPU engine (only sensible for small models).
 */
export class RandomWeights implements WeightSource {
  readonly config: HymbaConfig;
  readonly label: string;
  readonly dtype: WeightDType;
  private readonly seed: number;
  private readonly shapes: Map<string, number[]>;
  private readonly jobs: Array<{ chunk: MatrixChunk; first: number; elements: number; stream: number; mean: number; std: number }> = [];
  readonly matrices = new Map<string, GpuMatrix>();

  constructor(config: HymbaConfig, opts: { seed?: number; dtype?: WeightDType } = {}) {
    this.config = config;
    this.seed = opts.seed ?? 0;
    this.dtype = opts.dtype ?? 'BF16';
    this.label = `random(seed ${this.seed}, ${this.dtype})`;
    this.shapes = expectedTensors(config);
  }

  private shape(name: string): number[] {
    const s = this.shapes.get(name);
    if (!s) throw new Error(`weight ${name} is not part of this config`);
    return s;
  }

  private stream(name: string): number {
    let h = 2166136261;
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
    return h >>> 0;
  }

  matrix(rt: GpuRuntime, name: string, maxBindingBytes: number): GpuMatrix {
    const shape = this.shape(name);
    const rows = shape[0];
    const cols = shape.slice(1).reduce((a, b) => a * b, 1);
    const rowBytes = cols * bytesPerElement(this.dtype);
    const per = Math.min(rows, Math.floor((maxBindingBytes - 4) / rowBytes));
    if (per < 1)
      throw new WeightTooLargeError(`${name}: one row is ${rowBytes} bytes, more than the device binds at once (${maxBindingBytes})`);
    const { mean, std } = randomLaw(this.config, name, shape);
    const chunks: MatrixChunk[] = [];
    for (let row0 = 0; row0 < rows; row0 += per) {
      const n = Math.min(per, rows - row0);
      const chunk = { buffer: rt.create(n * rowBytes, `${name}[${row0}:${row0 + n}]`), row0, rows: n };
      chunks.push(chunk);
      this.jobs.push({ chunk, first: row0 * cols, elements: n * cols, stream: this.stream(name), mean, std });
    }
    const m = { name, dtype: this.dtype, rows, cols, chunks };
    this.matrices.set(name, m);
    return m;
  }

  vector(name: string): Float32Array {
    const shape = this.shape(name);
    const n = shape.reduce((a, b) => a * b, 1);
    const uniform = mulberry32(this.seed ^ this.stream(name));
    const u = () => Math.sqrt(3) * (2 * uniform() - 1);
    const out = new Float32Array(n);
    if (name.endsWith('A_log.0')) {
      for (let i = 0; i < n; i++) out[i] = Math.log(1 + (i % this.config.dState)) + 0.1 * u();
    } else if (name.endsWith('dt_proj.0.bias')) {
      // Δ = softplus(bias) log-uniform in [0.01, 0.3]: bias = Δ + log(1 − e^−Δ), the inverse softplus.
      for (let i = 0; i < n; i++) {
        const dt = Math.exp(Math.log(0.01) + uniform() * (Math.log(0.3) - Math.log(0.01)));
        out[i] = dt + Math.log(-Math.expm1(-dt));
      }
    } else if (name.endsWith('qkv_conv.weight')) {
      // Near the identity, like randomCheckpoint: the current-token tap about 1, earlier taps small.
      const W = shape[shape.length - 1];
      for (let i = 0; i < n; i++) out[i] = (i % W === W - 1 ? 1 : 0) + 0.3 * u();
    } else {
      const { mean, std } = randomLaw(this.config, name, shape);
      for (let i = 0; i < n; i++) out[i] = mean + std * u();
    }
    return out;
  }

  /** Generate every matrix created so far on the GPU (one pass). */
  async fill(rt: GpuRuntime): Promise<void> {
    const pass = rt.begin('random weights');
    for (const j of this.jobs) {
      const { params, groups } = randomInitDispatch(
        this.dtype,
        j.first,
        j.elements,
        j.first + j.elements,
        this.seed,
        j.stream,
        j.mean,
        j.std,
      );
      pass.dispatch(randomInitKernel(this.dtype), params, [j.chunk.buffer], groups);
    }
    this.jobs.length = 0;
    await pass.submit();
  }

  /** Every tensor as a Checkpoint (matrices read back from the GPU in their stored dtype). */
  async readBack(rt: GpuRuntime): Promise<Checkpoint> {
    const weights = new Map<string, Weight>();
    for (const [name, shape] of this.shapes) {
      const m = this.matrices.get(name);
      if (!m) {
        weights.set(name, { name, dtype: 'F32', shape, bytes: new Uint8Array(this.vector(name).buffer) });
        continue;
      }
      const rowBytes = m.cols * bytesPerElement(m.dtype);
      const bytes = new Uint8Array(m.rows * rowBytes);
      for (const ch of m.chunks) {
        const pass = rt.begin(`read ${name}`);
        pass.read(ch.buffer, Math.ceil((ch.rows * rowBytes) / 4));
        const [data] = await pass.submit();
        bytes.set(new Uint8Array(data.buffer, 0, ch.rows * rowBytes), ch.row0 * rowBytes);
      }
      weights.set(name, { name, dtype: m.dtype, shape, bytes });
    }
    return { config: this.config, weights, label: this.label };
  }
}
