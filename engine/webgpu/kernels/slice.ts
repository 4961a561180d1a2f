// The site's vertical slice (<hymba-rmsnorm-demo>, lesson 0): RMSNorm over the rows of a small matrix, run by the
// engine's own RMSNorm kernel (rmsnorm.ts) on the runtime (runtime.ts), to prove the whole path (WGSL → engine GPU
// layer → widget → chart, in Node and in the browser) with the code the model runs.
//
//   y[r, c] = weight[c] · x[r, c] / sqrt(mean_c(x[r, c]²) + eps)        (hymba-spec §2.1)
import { deviceContext } from '../device.ts';
import { GpuRuntime } from '../runtime.ts';
import { encodeRmsnorm } from './rmsnorm.ts';

export class SliceShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SliceShapeError';
  }
}

export interface SliceRmsnormInput {
  /** Row-major [rows, cols]. */
  x: Float32Array;
  /** Per-column gain, [cols]. */
  weight: Float32Array;
  rows: number;
  cols: number;
  eps: number;
}

function validate({ x, weight, rows, cols, eps }: SliceRmsnormInput): void {
  if (!Number.isInteger(rows) || rows < 1) throw new SliceShapeError(`slice rmsnorm: rows must be a positive integer, got ${rows}`);
  if (!Number.isInteger(cols) || cols < 1) throw new SliceShapeError(`slice rmsnorm: cols must be a positive integer, got ${cols}`);
  if (x.length !== rows * cols)
    throw new SliceShapeError(`slice rmsnorm: x has ${x.length} values, [${rows}, ${cols}] needs ${rows * cols}`);
  if (weight.length !== cols) throw new SliceShapeError(`slice rmsnorm: weight has ${weight.length} values, expected cols = ${cols}`);
  if (!(eps >= 0)) throw new SliceShapeError(`slice rmsnorm: eps must be >= 0, got ${eps}`);
}

/** The same formula on the CPU, in float64: the reference the GPU result is tested against. */
export function rmsnormCpu({ x, weight, rows, cols, eps }: SliceRmsnormInput): Float32Array {
  const y = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += x[r * cols + c] ** 2;
    const invRms = 1 / Math.sqrt(sum / cols + eps);
    for (let c = 0; c < cols; c++) y[r * cols + c] = weight[c] * x[r * cols + c] * invRms;
  }
  return y;
}

/** Run RMSNorm on the GPU and read the result back. Throws SliceShapeError on bad input, GpuValidationError if the GPU rejects the work. */
export async function runSliceRmsnorm(device: GPUDevice, input: SliceRmsnormInput): Promise<Float32Array> {
  validate(input);
  const { x, weight, rows, cols, eps } = input;
  const rt = new GpuRuntime(deviceContext(device));
  try {
    const pass = rt.begin('slice-rmsnorm');
    const y = rt.create(rows * cols * 4, 'slice-y');
    encodeRmsnorm(pass, { buffer: rt.upload(x, 'slice-x'), offset: 0, stride: cols }, rows, cols, rt.upload(weight, 'slice-weight'), eps, {
      buffer: y,
      offset: 0,
      stride: cols,
    });
    pass.read(y, rows * cols);
    const [out] = await pass.submit();
    return out;
  } finally {
    rt.dispose();
  }
}

/** Deterministic demo input: rows of very different scale, so the chart shows what the normalisation does. */
export function sliceDemoInput(rows: number, cols: number, seed: number, eps = 1e-6): SliceRmsnormInput {
  // mulberry32: a tiny seeded PRNG, so the page, the tests and a reader's refresh all see the same numbers.
  let s = seed >>> 0;
  const random = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const x = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    // Each token row ~3× louder than the previous one, the cycle restarting every 8 rows: 3^r for any r would
    // overflow f32 in the sum of squares beyond ~40 rows (3^40 squared is past 3.4e38).
    const scale = 0.25 * 3 ** (r % 8);
    for (let c = 0; c < cols; c++) x[r * cols + c] = scale * (2 * random() - 1);
  }
  const weight = Float32Array.from({ length: cols }, (_, c) => 1 + 0.5 * Math.sin((2 * Math.PI * c) / cols));
  return { x, weight, rows, cols, eps };
}
