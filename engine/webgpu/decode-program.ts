// A recorded list of dispatches replayed once per decoded token (session.ts) or once per training step
// (train/graph.ts, whose uniforms are all static): pipelines and bind groups are created once, each
// dispatch owns a fixed 256-byte slot of one uniform buffer, and a step only rewrites the uniforms (one
// queue.writeBuffer) and records the dispatches into ONE command encoder / ONE compute pass. WebGPU cannot replay a
// command buffer, so re-recording is unavoidable; what this saves is the per-dispatch JavaScript and bind-group
// creation of runtime.ts's Pass, which would dominate a 1.5B model's token on a fast GPU.

import type { GpuRuntime, Kernel } from './runtime.ts';

const SLOT = 256;

type Groups = [number, number?, number?];

/** Bytes a dispatch must read from a buffer whatever its kernel does (weights, cache entries): see recordVariant. */
export interface Stream {
  buffer: GPUBuffer;
  bytes: number;
}

interface Recorded {
  name: string;
  kernel: Kernel;
  /** Set by finish(): a program's pipelines are compiled when it is first recorded, or earlier by prepare(). */
  pipeline: GPUComputePipeline | null;
  bindGroup: GPUBindGroup;
  params: (pos: number) => number[];
  groups: (pos: number) => Groups;
  streams: (pos: number) => Stream[];
}

/** What recordVariant's `replace` sees of a dispatch. */
export interface DispatchInfo {
  index: number;
  name: string;
  groups: Groups;
  streams: Stream[];
}

export class DecodeProgram {
  private readonly rt: GpuRuntime;
  private readonly list: Recorded[] = [];
  private arena: GPUBuffer | null = null;
  private data = new Uint32Array(0);
  /** Static uniforms are written into `data` once; dynamic ones on every step. */
  private readonly dynamic: number[] = [];
  /** Whether the arena holds `data` (only dynamic uniforms change after the first upload). */
  private uploaded = false;

  constructor(rt: GpuRuntime) {
    this.rt = rt;
  }

  get dispatches(): number {
    return this.list.length;
  }

  /** Record a dispatch. `params`/`groups` may depend on the step's position (then they are recomputed per step). */
  add(
    kernel: Kernel,
    /** Whole buffers, or slices (offset a multiple of minStorageBufferOffsetAlignment). */
    buffers: Array<GPUBuffer | GPUBufferBinding>,
    params: number[] | ((pos: number) => number[]),
    groups: Groups | ((pos: number) => Groups),
    /** The bytes it streams (weights, cache entries), for the benchmark's ceilings; default none. */
    streams: Stream[] | ((pos: number) => Stream[]) = [],
  ): void {
    if (buffers.length !== kernel.bindings.length) {
      throw new Error(`${kernel.name}: ${buffers.length} buffers given, the kernel binds ${kernel.bindings.length}`);
    }
    if (this.arena) throw new Error('DecodeProgram: add() after the program was finished');
    const layout = this.rt.layoutOf(kernel);
    const index = this.list.length;
    const fn = typeof params === 'function';
    if (fn) this.dynamic.push(index);
    this.list.push({
      name: kernel.name,
      kernel,
      pipeline: null,
      // The bind group is made in finish(), when the uniform arena exists.
      bindGroup: { layout, buffers } as unknown as GPUBindGroup,
      params: fn ? params : () => params,
      groups: typeof groups === 'function' ? groups : () => groups,
      streams: typeof streams === 'function' ? streams : () => streams,
    });
  }

  /**
   * Compile this program's pipelines, side by side (GpuRuntime.prepare), before it is first recorded: a program
   * recorded unprepared compiles them one after another when it is finished.
   */
  prepare(): Promise<void> {
    return this.rt.prepare(this.list.map((r) => r.kernel));
  }

  /** Create the uniform arena, every bind group, and the pipelines prepare() has not compiled. */
  finish(pos: number): void {
    const n = this.list.length;
    this.uploaded = false;
    this.arena = this.rt.create(n * SLOT, 'decode-uniforms', GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    this.data = new Uint32Array((n * SLOT) / 4);
    this.list.forEach((r, i) => {
      const { layout, buffers } = r.bindGroup as unknown as { layout: GPUBindGroupLayout; buffers: Array<GPUBuffer | GPUBufferBinding> };
      r.pipeline = this.rt.pipeline(r.kernel).pipeline;
      r.bindGroup = this.rt.device.createBindGroup({
        label: r.name,
        layout,
        entries: [
          { binding: 0, resource: { buffer: this.arena!, offset: i * SLOT, size: SLOT } },
          ...buffers.map((buffer, b) => ({ binding: b + 1, resource: 'buffer' in buffer ? buffer : { buffer } })),
        ],
      });
      this.setParams(i, r.params(pos));
    });
  }

  private setParams(i: number, params: number[]): void {
    if (params.length > SLOT / 4) throw new Error(`${this.list[i].name}: too many params`);
    for (let k = 0; k < params.length; k++) this.data[(i * SLOT) / 4 + k] = params[k] >>> 0;
  }

  /** Write the uniforms of a step at `pos` (queue order: after earlier commands, before the next submit's). */
  private upload(pos: number): void {
    if (!this.arena) this.finish(pos);
    if (this.uploaded && this.dynamic.length === 0) return;
    for (const i of this.dynamic) this.setParams(i, this.list[i].params(pos));
    this.rt.device.queue.writeBuffer(this.arena!, 0, this.data);
    this.uploaded = true;
  }

  /** Record dispatch `r` into `pass` (`times` times over, for the per-kernel profile). */
  private dispatch(pass: GPUComputePassEncoder, r: Recorded, [x, y, z]: Groups, times = 1): void {
    pass.setPipeline(r.pipeline!);
    pass.setBindGroup(0, r.bindGroup);
    for (let k = 0; k < times; k++) pass.dispatchWorkgroups(x, y ?? 1, z ?? 1);
  }

  /**
   * Write this step's uniforms (queue order: they land after the previous step's commands and before this one's)
   * and record every dispatch into `encoder` in one compute pass.
   */
  record(encoder: GPUCommandEncoder, pos: number, timestampWrites?: GPUComputePassTimestampWrites): void {
    this.upload(pos);
    const pass = encoder.beginComputePass(timestampWrites ? { timestampWrites } : {});
    for (const r of this.list) this.dispatch(pass, r, r.groups(pos));
    pass.end();
  }

  /**
   * `repeats` decode steps at `pos` in ONE compute pass, where `replace` may record something else in place of any
   * dispatch (it returns true when it did). The benchmark's ceilings stand a plain read of each dispatch's streams in
   * for its kernel: how fast this dispatch structure could be if every op only moved its bytes. Like profile(), it
   * re-runs kernels that update state: benchmarks only.
   */
  recordVariant(
    encoder: GPUCommandEncoder,
    pos: number,
    repeats: number,
    replace: (d: DispatchInfo, pass: GPUComputePassEncoder) => boolean,
    timestampWrites?: GPUComputePassTimestampWrites,
  ): void {
    this.upload(pos);
    const infos = this.list.map((r, index) => ({ index, name: r.name, groups: r.groups(pos), streams: r.streams(pos) }));
    const pass = encoder.beginComputePass(timestampWrites ? { timestampWrites } : {});
    for (let k = 0; k < repeats; k++) {
      this.list.forEach((r, i) => {
        if (!replace(infos[i], pass)) this.dispatch(pass, r, infos[i].groups);
      });
    }
    pass.end();
  }

  /**
   * Wall time of each dispatch run alone (submit, wait), summed per kernel name: where a step's time goes when
   * dispatches do not overlap. Re-runs the step's kernels `repeats` times, so it changes the session's state: only
   * for benchmarks on throw-away sessions.
   */
  async profile(pos: number, repeats = 3): Promise<Map<string, { count: number; ms: number }>> {
    this.upload(pos);
    const out = new Map<string, { count: number; ms: number }>();
    for (const r of this.list) {
      let best = Infinity;
      for (let k = 0; k < repeats; k++) {
        const encoder = this.rt.device.createCommandEncoder();
        const pass = encoder.beginComputePass();
        this.dispatch(pass, r, r.groups(pos));
        pass.end();
        const t0 = performance.now();
        this.rt.device.queue.submit([encoder.finish()]);
        await this.rt.device.queue.onSubmittedWorkDone();
        best = Math.min(best, performance.now() - t0);
      }
      const e = out.get(r.name) ?? { count: 0, ms: 0 };
      out.set(r.name, { count: e.count + 1, ms: e.ms + best });
    }
    return out;
  }

  /**
   * GPU time of each dispatch from timestamps: each dispatch is repeated `repeats` times in a pass of its own between
   * two timestamps (`measure` records with `writes`, resolves, returns ns), summed per kernel name in ms. Like
   * profile(), it re-runs kernels that update state: benchmarks only.
   */
  async profileGpu(
    pos: number,
    writes: GPUComputePassTimestampWrites,
    measure: (record: (e: GPUCommandEncoder) => void) => Promise<number | null>,
    repeats = 10,
  ): Promise<Map<string, { count: number; ms: number }>> {
    this.upload(pos);
    const out = new Map<string, { count: number; ms: number }>();
    for (const r of this.list) {
      const ns = await measure((encoder) => {
        const pass = encoder.beginComputePass({ timestampWrites: writes });
        this.dispatch(pass, r, r.groups(pos), repeats);
        pass.end();
      });
      const e = out.get(r.name) ?? { count: 0, ms: 0 };
      out.set(r.name, { count: e.count + 1, ms: e.ms + (ns ?? NaN) / 1e6 / repeats });
    }
    return out;
  }

  /** Dispatch names in order (for profiling and docs). */
  names(): string[] {
    return this.list.map((r) => r.name);
  }

  dispose(): void {
    if (this.arena) this.rt.destroy(this.arena);
    this.arena = null;
  }
}
