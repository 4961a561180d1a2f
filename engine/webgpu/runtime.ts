// The GPU side of the engine, below the model: compiled pipelines (cached per device), a pool of activation
// buffers, byte accounting, and a `Pass` that records many dispatches into ONE command encoder and submits once.
//
// Conventions every kernel follows (so a kernel is just WGSL + a list of bindings):
//   @group(0) @binding(0)  var<uniform> p: Params;     — all fields u32 (floats travel as bits: f32bits(x))
//   @group(0) @binding(1…) storage buffers, 'read' or 'rw', in the order the kernel declares them (or a 'uniform'
//                          the caller binds, like the training step's).
// The inference engine's passes (Pass, below) and recorded programs (decode-program.ts: decode, training) share
// this convention and the pipeline cache.
// Each dispatch gets its own 256-byte uniform slot in a per-pass arena (queue.writeBuffer is immediate, dispatches
// are deferred, so one shared uniform would be overwritten before the GPU reads it).

import { DeviceLostError, GpuOutOfMemoryError, GpuValidationError, type GpuContext } from './device.ts';

export type Access = 'read' | 'rw' | 'uniform';

/**
 * Which variants of the hot kernels to run. 'gpu': workgroups cooperate through workgroup memory and barriers
 * (tiled GEMM, tree reductions), which real GPUs run fast. 'cpu-like': one invocation per output element or row,
 * no workgroup memory, no barriers: a CPU implementation of WebGPU (SwiftShader) runs a workgroup's invocations
 * as fibers on a few cores, where every barrier is a round of context switches and plain loops are cheap
 * (measured: an 8960×1600 GEMV takes ~140 ms barrier-free, ~10 s as a 256-thread tree reduction).
 */
export type KernelProfile = 'gpu' | 'cpu-like';

/**
 * The profile an adapter wants: 'cpu-like' for a software implementation (SwiftShader, Mesa's llvmpipe / lavapipe),
 * decided from what the adapter is, never from the browser. The one classifier: the inference engine and the
 * training graph both use it.
 */
export function kernelProfileOf(info: { architecture: string; device: string; description: string }): KernelProfile {
  const text = `${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return /swiftshader|llvmpipe|lavapipe/.test(text) ? 'cpu-like' : 'gpu';
}

export interface Kernel {
  /** For labels and error messages. */
  name: string;
  wgsl: string;
  bindings: Access[];
  /** The entry point (default 'main'): one WGSL text may hold several. */
  entry?: string;
}

/** A contiguous row-major float32 tensor on the GPU (the buffer may be larger than the tensor). */
export interface GpuTensor {
  buffer: GPUBuffer;
  shape: number[];
}

export const numelOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** A float's bits as u32, to pass it through the all-u32 Params struct (WGSL: bitcast<f32>(p.x)). */
export function f32bits(x: number): number {
  const f = new Float32Array([x]);
  return new Uint32Array(f.buffer)[0];
}

/** Split a workgroup count over x and y (each at most 65535); kernels rebuild the flat index from num_workgroups. */
export function grid(workgroups: number): [number, number] {
  const x = Math.max(1, Math.min(workgroups, 65535));
  return [x, Math.max(1, Math.ceil(workgroups / x))];
}

const SLOT = 256; // bytes per dispatch's uniform slot (the largest minUniformBufferOffsetAlignment)
const SLOTS_PER_BLOCK = 64;

interface CachedPipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}
const BUFFER_TYPE = { read: 'read-only-storage', rw: 'storage', uniform: 'uniform' } as const satisfies Record<
  Access,
  GPUBufferBindingType
>;

// Pipelines are per device, keyed by the entry point and the WGSL text (constants are baked into the text).
const pipelineCache = new WeakMap<GPUDevice, Map<string, CachedPipeline>>();

export class GpuRuntime {
  readonly ctx: GpuContext;
  readonly device: GPUDevice;
  /** Free activation buffers by size class. */
  private readonly pool = new Map<number, GPUBuffer[]>();
  /** Every buffer this runtime created and has not destroyed, with its size. */
  private readonly owned = new Map<GPUBuffer, number>();
  private readonly paramBlocks: GPUBuffer[] = [];
  private disposed = false;
  /** The kernel variants this runtime's passes use (see KernelProfile). */
  readonly profile: KernelProfile;
  /** A 16-byte buffer bound where a kernel's optional input or output is absent. */
  readonly dummy: GPUBuffer;

  constructor(ctx: GpuContext, profile: KernelProfile = kernelProfileOf(ctx.adapterInfo)) {
    this.ctx = ctx;
    this.device = ctx.device;
    this.profile = profile;
    this.dummy = this.create(16, 'dummy');
  }

  /** Bytes of GPU memory held now (weights, pooled and live activations, uniform arenas). */
  allocatedBytes(): number {
    let n = 0;
    for (const s of this.owned.values()) n += s;
    return n;
  }

  create(bytes: number, label: string, usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST): GPUBuffer {
    if (this.disposed) throw new Error('this WebGPU engine was disposed');
    const size = Math.max(16, Math.ceil(bytes / 4) * 4);
    const b = this.device.createBuffer({ label, size, usage });
    this.owned.set(b, size);
    return b;
  }

  destroy(b: GPUBuffer): void {
    if (this.owned.delete(b)) b.destroy();
  }

  /** Upload data into a new storage buffer (a u32 view for packed 16-bit data). */
  upload(data: Float32Array | Uint32Array | Uint8Array, label: string): GPUBuffer {
    const b = this.create(data.byteLength, label);
    let bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (bytes.byteLength % 4 !== 0) {
      const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
      padded.set(bytes);
      bytes = padded;
    }
    if (bytes.byteLength > 0) this.device.queue.writeBuffer(b, 0, bytes);
    return b;
  }

  /** A pooled buffer of at least `bytes` (power-of-two size classes, so passes of other lengths reuse them). */
  acquire(bytes: number): GPUBuffer {
    const size = Math.max(256, 2 ** Math.ceil(Math.log2(Math.max(bytes, 1))));
    const free = this.pool.get(size);
    return free?.pop() ?? this.create(size, `pool-${size}`);
  }

  release(b: GPUBuffer): void {
    if (b === this.dummy || !this.owned.has(b)) return;
    const size = this.owned.get(b)!;
    let free = this.pool.get(size);
    if (!free) this.pool.set(size, (free = []));
    if (!free.includes(b)) free.push(b);
  }

  tensor(shape: number[]): GpuTensor {
    return { buffer: this.acquire(numelOf(shape) * 4), shape };
  }

  /** Give pooled (free) buffers back to the device. */
  trim(): void {
    for (const list of this.pool.values()) for (const b of list) this.destroy(b);
    this.pool.clear();
  }

  pipeline(kernel: Kernel): CachedPipeline {
    let cache = pipelineCache.get(this.device);
    if (!cache) pipelineCache.set(this.device, (cache = new Map()));
    const entryPoint = kernel.entry ?? 'main';
    const key = `${entryPoint}\n${kernel.wgsl}`;
    let hit = cache.get(key);
    if (!hit) {
      const layout = this.device.createBindGroupLayout({
        label: kernel.name,
        entries: [
          { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } },
          ...kernel.bindings.map((a, i) => ({
            binding: i + 1,
            visibility: GPUShaderStage.COMPUTE,
            buffer: { type: BUFFER_TYPE[a] },
          })),
        ],
      });
      const module = this.device.createShaderModule({ label: kernel.name, code: kernel.wgsl });
      const pipeline = this.device.createComputePipeline({
        label: kernel.name,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint },
      });
      hit = { pipeline, layout };
      cache.set(key, hit);
    }
    return hit;
  }

  /** The n-th uniform block (reused pass after pass: queue order makes that safe). */
  paramBlock(n: number): GPUBuffer {
    while (this.paramBlocks.length <= n) {
      this.paramBlocks.push(this.create(SLOT * SLOTS_PER_BLOCK, 'params', GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST));
    }
    return this.paramBlocks[n];
  }

  /** Start recording a pass (throws DeviceLostError when the device is gone). */
  begin(label: string): Pass {
    if (this.disposed) throw new Error('this WebGPU engine was disposed');
    if (this.ctx.isLost()) throw new DeviceLostError('lost', 'the device was lost before this pass');
    return new Pass(this, label);
  }

  dispose(): void {
    for (const b of [...this.owned.keys()]) this.destroy(b);
    this.pool.clear();
    this.paramBlocks.length = 0;
    this.disposed = true;
  }
}

interface Readback {
  staging: GPUBuffer;
  floats: number;
}

/** One command encoder: dispatches in one compute pass, copies after it, one submit. */
export class Pass {
  private readonly rt: GpuRuntime;
  private readonly encoder: GPUCommandEncoder;
  private compute: GPUComputePassEncoder | null = null;
  private readonly params: Uint32Array[] = [];
  private slots = 0;
  private readonly readbacks: Readback[] = [];
  dispatches = 0;

  private open = true;

  /** The runtime's kernel profile: encoders pick their variant from it. */
  get profile(): KernelProfile {
    return this.rt.profile;
  }

  // The error scopes span the whole pass, so a bad pipeline or bind group is caught as well as the submission.
  constructor(rt: GpuRuntime, label: string) {
    this.rt = rt;
    rt.device.pushErrorScope('out-of-memory');
    rt.device.pushErrorScope('validation');
    this.encoder = rt.device.createCommandEncoder({ label });
  }

  dispatch(kernel: Kernel, params: number[], buffers: GPUBuffer[], groups: [number, number?, number?]): void {
    if (buffers.length !== kernel.bindings.length) {
      throw new Error(`${kernel.name}: ${buffers.length} buffers given, the kernel binds ${kernel.bindings.length}`);
    }
    if (params.length > SLOT / 4) throw new Error(`${kernel.name}: too many params`);
    const { pipeline, layout } = this.rt.pipeline(kernel);
    const block = Math.floor(this.slots / SLOTS_PER_BLOCK);
    const slot = this.slots % SLOTS_PER_BLOCK;
    this.slots++;
    if (!this.params[block]) this.params[block] = new Uint32Array((SLOT * SLOTS_PER_BLOCK) / 4);
    this.params[block].set(
      params.map((v) => v >>> 0),
      (slot * SLOT) / 4,
    );
    const bindGroup = this.rt.device.createBindGroup({
      layout,
      entries: [
        { binding: 0, resource: { buffer: this.rt.paramBlock(block), offset: slot * SLOT, size: SLOT } },
        ...buffers.map((buffer, i) => ({ binding: i + 1, resource: { buffer } })),
      ],
    });
    this.compute ??= this.encoder.beginComputePass();
    this.compute.setPipeline(pipeline);
    this.compute.setBindGroup(0, bindGroup);
    this.compute.dispatchWorkgroups(groups[0], groups[1] ?? 1, groups[2] ?? 1);
    this.dispatches++;
  }

  /** Schedule a readback of `floats` values of a buffer from float `offset`; the returned index is for `submit()`'s result. */
  read(buffer: GPUBuffer, floats: number, offset = 0): number {
    this.endCompute();
    const staging = this.rt.create(floats * 4, 'readback', GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    if (floats > 0) this.encoder.copyBufferToBuffer(buffer, offset * 4, staging, 0, floats * 4);
    this.readbacks.push({ staging, floats });
    return this.readbacks.length - 1;
  }

  private endCompute(): void {
    this.compute?.end();
    this.compute = null;
  }

  /** Close the error scopes and throw what they caught, as the typed errors of device.ts. */
  private async closeScopes(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    const validation = await this.rt.device.popErrorScope();
    const oom = await this.rt.device.popErrorScope();
    if (this.rt.ctx.isLost()) throw await this.rt.ctx.lost;
    if (oom) throw new GpuOutOfMemoryError(`GPU out of memory: ${oom.message}`);
    if (validation) throw new GpuValidationError(validation.message);
  }

  /** Abandon the pass after an exception while encoding (nothing is submitted). */
  async abort(): Promise<void> {
    for (const r of this.readbacks) this.rt.destroy(r.staging);
    this.readbacks.length = 0;
    await this.closeScopes().catch(() => {});
  }

  /** Submit, check the error scopes, then map the readbacks in the order they were scheduled. */
  async submit(): Promise<Float32Array[]> {
    const { device } = this.rt;
    try {
      this.endCompute();
      this.params.forEach((data, block) => device.queue.writeBuffer(this.rt.paramBlock(block), 0, data));
      device.queue.submit([this.encoder.finish()]);
      await this.closeScopes();
      const out: Float32Array[] = [];
      for (const r of this.readbacks) {
        await r.staging.mapAsync(GPUMapMode.READ);
        out.push(new Float32Array(r.staging.getMappedRange().slice(0, r.floats * 4)));
        r.staging.unmap();
      }
      return out;
    } catch (e) {
      await this.closeScopes().catch(() => {});
      if (this.rt.ctx.isLost()) throw await this.rt.ctx.lost;
      throw e;
    } finally {
      for (const r of this.readbacks) this.rt.destroy(r.staging);
    }
  }
}
