// The site's vertical-slice kernel: RMSNorm over the rows of a small matrix, one workgroup per row.
// It exists to prove the whole path (WGSL → engine GPU layer → widget → chart, in Node and in the browser);
// the engine's real kernels live next to it and do not depend on it.
//
//   y[r, c] = weight[c] · x[r, c] / sqrt(mean_c(x[r, c]²) + eps)        (hymba-spec §2.1)
import { checked } from '../device.ts';

export class SliceShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SliceShapeError';
  }
}

const WORKGROUP_SIZE = 64;

const sliceRmsnormWgsl = /* wgsl */ `
struct Params { rows: u32, cols: u32, eps: f32, _pad: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

const WG: u32 = ${WORKGROUP_SIZE}u;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let base = wg.x * params.cols;

  // Each invocation sums the squares of a strided slice of the row…
  var sum = 0.0;
  for (var c = lid; c < params.cols; c += WG) {
    let v = x[base + c];
    sum += v * v;
  }
  partial[lid] = sum;
  workgroupBarrier();

  // …then a tree reduction in workgroup memory gives the row's total in partial[0].
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      partial[lid] += partial[lid + stride];
    }
    workgroupBarrier();
  }

  let inv_rms = inverseSqrt(partial[0] / f32(params.cols) + params.eps);
  for (var c = lid; c < params.cols; c += WG) {
    y[base + c] = weight[c] * (x[base + c] * inv_rms);
  }
}
`;

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

const pipelines = new WeakMap<GPUDevice, GPUComputePipeline>();

async function pipelineFor(device: GPUDevice): Promise<GPUComputePipeline> {
  let pipeline = pipelines.get(device);
  if (!pipeline) {
    const module = device.createShaderModule({ label: 'slice-rmsnorm', code: sliceRmsnormWgsl });
    pipeline = await checked(device, () =>
      device.createComputePipelineAsync({ label: 'slice-rmsnorm', layout: 'auto', compute: { module } }),
    );
    pipelines.set(device, pipeline);
  }
  return pipeline;
}

/** Run RMSNorm on the GPU and read the result back. Throws SliceShapeError on bad input, GpuValidationError if the GPU rejects the work. */
export async function runSliceRmsnorm(device: GPUDevice, input: SliceRmsnormInput): Promise<Float32Array> {
  validate(input);
  const { x, weight, rows, cols, eps } = input;
  const pipeline = await pipelineFor(device);

  const params = new ArrayBuffer(16);
  new Uint32Array(params, 0, 2).set([rows, cols]);
  new Float32Array(params, 8, 1)[0] = eps;

  const upload = (data: ArrayBuffer | Float32Array, usage: number, label: string): GPUBuffer => {
    const buffer = device.createBuffer({ label, size: data.byteLength, usage: usage | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(buffer, 0, data);
    return buffer;
  };
  const bytes = rows * cols * 4;
  const buffers = {
    params: upload(params, GPUBufferUsage.UNIFORM, 'slice-params'),
    x: upload(x, GPUBufferUsage.STORAGE, 'slice-x'),
    weight: upload(weight, GPUBufferUsage.STORAGE, 'slice-weight'),
    y: device.createBuffer({ label: 'slice-y', size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC }),
    readback: device.createBuffer({ label: 'slice-readback', size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
  };
  try {
    await checked(device, () => {
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [buffers.params, buffers.x, buffers.weight, buffers.y].map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      const encoder = device.createCommandEncoder({ label: 'slice-rmsnorm' });
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(rows);
      pass.end();
      encoder.copyBufferToBuffer(buffers.y, 0, buffers.readback, 0, bytes);
      device.queue.submit([encoder.finish()]);
    });
    await buffers.readback.mapAsync(GPUMapMode.READ);
    const y = new Float32Array(buffers.readback.getMappedRange().slice(0));
    buffers.readback.unmap();
    return y;
  } finally {
    for (const buffer of Object.values(buffers)) buffer.destroy();
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
