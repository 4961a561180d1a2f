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
/** A kernel's entry in the per-device cache: the layout at once, the pipeline once compiled (or while compiling). */
interface CacheEntry {
  layout: GPUBindGroupLayout;
  descriptor: GPUComputePipelineDescriptor;
  pipeline?: GPUComputePipeline;
  compiling?: Promise<void>;
}
const BUFFER_TYPE = { read: 'read-only-storage', rw: 'storage', uniform: 'uniform' } as const satisfies Record<
  Access,
  GPUBufferBindingType
>;

// Pipelines are per device, keyed by the entry point and the WGSL text (constants are baked into the text).
const pipelineCache = new WeakMap<GPUDevice, Map<string, CacheEntry>>();

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

  /** The kernel's cache entry: its bind-group layout is made at once, its pipeline by pipeline() or prepare(). */
  private entry(kernel: Kernel): CacheEntry {
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
      const descriptor = {
        label: kernel.name,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint },
      };
      hit = { layout, descriptor };
      cache.set(key, hit);
    }
    return hit;
  }

  /** The kernel's bind-group layout (no compile). */
  layoutOf(kernel: Kernel): GPUBindGroupLayout {
    return this.entry(kernel).layout;
  }

  /** The compiled pipeline now: compiled here, synchronously, unless prepare() already compiled it. */
  pipeline(kernel: Kernel): CachedPipeline {
    const e = this.entry(kernel);
    e.pipeline ??= this.device.createComputePipeline(e.descriptor);
    return { pipeline: e.pipeline, layout: e.layout };
  }

  /**
   * Compile the kernels' pipelines that are not compiled yet, all at once (createComputePipelineAsync: the
   * implementation may compile them in parallel, off the thread that records), so that work waits only for the
   * pipelines it uses and not for one compile after another. A kernel that does not compile rejects with a
   * GpuValidationError naming it.
   */
  async prepare(kernels: Iterable<Kernel>): Promise<void> {
    const waits = new Set<Promise<void>>();
    // A shader module that does not parse is reported by its pipeline's rejection below (with the kernel's name),
    // not as an uncaptured error: the scope is pushed and popped around the synchronous creation only.
    this.device.pushErrorScope('validation');
    const entries = [...kernels].map((kernel) => ({ kernel, e: this.entry(kernel) }));
    void this.device.popErrorScope();
    for (const { kernel, e } of entries) {
      if (e.pipeline) continue;
      e.compiling ??= this.device.createComputePipelineAsync(e.descriptor).then(
        (p) => {
          e.pipeline ??= p;
        },
        (err: Error) => {
          e.compiling = undefined;
          throw new GpuValidationError(`kernel ${kernel.name} does not compile: ${err.message}`);
        },
      );
      waits.add(e.compiling);
    }
    await Promise.all(waits);
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

/** What a pass records, in order, to encode at submit(). */
type Command =
  | { kind: 'dispatch'; kernel: Kernel; block: number; slot: number; buffers: GPUBuffer[]; groups: [number, number?, number?] }
  | { kind: 'read'; buffer: GPUBuffer; floats: number; offset: number };

/**
 * One command encoder: dispatches in one compute pass, copies after it, one submit. Dispatches and reads are recorded
 * as they come and encoded at submit(), once the pipelines of the kernels the pass uses are compiled (all of them at
 * once, GpuRuntime.prepare): a first pass waits for its own pipelines, compiled side by side, and for no others.
 */
export class Pass {
  private readonly rt: GpuRuntime;
  private readonly label: string;
  private readonly commands: Command[] = [];
  private readonly params: Uint32Array[] = [];
  private slots = 0;
  private reads = 0;
  dispatches = 0;

  /** The runtime's kernel profile: encoders pick their variant from it. */
  get profile(): KernelProfile {
    return this.rt.profile;
  }

  constructor(rt: GpuRuntime, label: string) {
    this.rt = rt;
    this.label = label;
  }

  dispatch(kernel: Kernel, params: number[], buffers: GPUBuffer[], groups: [number, number?, number?]): void {
    if (buffers.length !== kernel.bindings.length) {
      throw new Error(`${kernel.name}: ${buffers.length} buffers given, the kernel binds ${kernel.bindings.length}`);
    }
    if (params.length > SLOT / 4) throw new Error(`${kernel.name}: too many params`);
    const block = Math.floor(this.slots / SLOTS_PER_BLOCK);
    const slot = this.slots % SLOTS_PER_BLOCK;
    this.slots++;
    if (!this.params[block]) this.params[block] = new Uint32Array((SLOT * SLOTS_PER_BLOCK) / 4);
    this.params[block].set(
      params.map((v) => v >>> 0),
      (slot * SLOT) / 4,
    );
    this.commands.push({ kind: 'dispatch', kernel, block, slot, buffers: buffers.slice(), groups });
    this.dispatches++;
  }

  /** Schedule a readback of `floats` values of a buffer from float `offset`; the returned index is for `submit()`'s result. */
  read(buffer: GPUBuffer, floats: number, offset = 0): number {
    this.commands.push({ kind: 'read', buffer, floats, offset });
    return this.reads++;
  }

  /** Abandon the pass after an exception while recording (nothing was encoded or submitted). */
  async abort(): Promise<void> {
    this.commands.length = 0;
  }

  /**
   * Compile the pass's pipelines (in parallel), then encode, submit and check it inside error scopes (the typed
   * errors of device.ts), then map the readbacks in the order they were scheduled.
   */
  async submit(): Promise<Float32Array[]> {
    const { rt } = this;
    const { device } = rt;
    const dispatched = this.commands.flatMap((c) => (c.kind === 'dispatch' ? [c.kernel] : []));
    await rt.prepare(dispatched);
    if (rt.ctx.isLost()) throw await rt.ctx.lost;
    const readbacks: Readback[] = [];
    // Everything from the scopes' push to their pop is synchronous, so no other pass's errors land in them.
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    let popped: Promise<[GPUError | null, GPUError | null]>;
    try {
      const encoder = device.createCommandEncoder({ label: this.label });
      let compute: GPUComputePassEncoder | null = null;
      for (const c of this.commands) {
        if (c.kind === 'read') {
          compute?.end();
          compute = null;
          const staging = rt.create(c.floats * 4, 'readback', GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
          if (c.floats > 0) encoder.copyBufferToBuffer(c.buffer, c.offset * 4, staging, 0, c.floats * 4);
          readbacks.push({ staging, floats: c.floats });
          continue;
        }
        const { pipeline, layout } = rt.pipeline(c.kernel);
        const bindGroup = device.createBindGroup({
          layout,
          entries: [
            { binding: 0, resource: { buffer: rt.paramBlock(c.block), offset: c.slot * SLOT, size: SLOT } },
            ...c.buffers.map((buffer, i) => ({ binding: i + 1, resource: { buffer } })),
          ],
        });
        compute ??= encoder.beginComputePass();
        compute.setPipeline(pipeline);
        compute.setBindGroup(0, bindGroup);
        compute.dispatchWorkgroups(c.groups[0], c.groups[1] ?? 1, c.groups[2] ?? 1);
      }
      compute?.end();
      this.params.forEach((data, block) => device.queue.writeBuffer(rt.paramBlock(block), 0, data));
      device.queue.submit([encoder.finish()]);
    } finally {
      const validation = device.popErrorScope();
      const oom = device.popErrorScope();
      popped = Promise.all([validation, oom]);
    }
    try {
      const [validation, oom] = await popped;
      if (rt.ctx.isLost()) throw await rt.ctx.lost;
      if (oom) throw new GpuOutOfMemoryError(`GPU out of memory: ${oom.message}`);
      if (validation) throw new GpuValidationError(validation.message);
      const out: Float32Array[] = [];
      for (const r of readbacks) {
        await r.staging.mapAsync(GPUMapMode.READ);
        out.push(new Float32Array(r.staging.getMappedRange().slice(0, r.floats * 4)));
        r.staging.unmap();
      }
      return out;
    } catch (e) {
      if (rt.ctx.isLost()) throw await rt.ctx.lost;
      throw e;
    } finally {
      for (const r of readbacks) rt.destroy(r.staging);
    }
  }
}
