// The full-size benchmark (docs/performance.md): Hymba-1.5B (or its first N layers) with deterministic random bf16
// weights made on the GPU, batch 1, on whatever adapter the context holds:
//   - the roofline: a vec4 copy kernel's bandwidth (bytes read + written), measured in the same run;
//   - the per-dispatch floor: N empty dispatches in one pass (host encoding and GPU time);
//   - prefill tokens/s at the given prompt lengths;
//   - decode ms/token at the given contexts, with dispatches per token, bytes read per token (weights as stored +
//     the KV/state entries actually read), and the achieved fraction of the copy bandwidth.
// Decode runs the session's greedy() path: one command encoder per token, the token fed back on the GPU, only the
// ids read back. With the `timestamp-query` feature the GPU time per token is measured too.

//
// What the benchmark measures of a session (decodeCost, timedStep, the profiles, recordDecodeVariant) goes through
// WebGpuSession.probe(), the engine's one hook for benchmarks.

import type { HymbaConfig } from '../engine/config.ts';
import type { GpuContext } from '../engine/webgpu/device.ts';
import { WebGpuEngine } from '../engine/webgpu/engine.ts';
import type { GpuMatrix, WeightDType } from '../engine/webgpu/weights.ts';
import { mulberry32 } from '../engine/sampling.ts';
import type { Kernel } from '../engine/webgpu/runtime.ts';
import type { DispatchInfo } from '../engine/webgpu/decode-program.ts';
import type { WebGpuSession } from '../engine/webgpu/session.ts';

/** What one decoded token costs: dispatches, and bytes of weights and cache it reads. */
export interface DecodeCost {
  dispatches: number;
  weightBytes: number;
  cacheBytes: number;
}

const F32 = 4;

/** Dispatches and bytes read by the session's next decode step (weights as stored; cache entries actually attended). */
export function decodeCost(s: WebGpuSession): DecodeCost {
  const { model, program, position: pos, numMeta, kv } = s.probe();
  const c = model.config;
  const wt = model.weights;
  const bytesOf = (m: GpuMatrix | null) => (m ? m.rows * m.cols * (m.dtype === 'F32' ? 4 : 2) : 0);
  let weightBytes = wt.embed.cols * (wt.embed.dtype === 'F32' ? 4 : 2) + bytesOf(wt.head);
  let cacheBytes = 0;
  for (const l of c.layers) {
    const w = wt.layers[l.index];
    weightBytes += [w.inProj, w.xProj, w.dtProj, w.outProj, w.gate, w.up, w.down].reduce((a, m) => a + bytesOf(m), 0);
    if (l.hasAttention) {
      const src = kv[l.kvSource]!;
      const entries = src.ring === 0 ? pos + 1 : numMeta + Math.min(pos - numMeta + 1, src.ring);
      cacheBytes += entries * (src.kWidth + src.vWidth) * F32;
    }
    if (l.hasSsm) cacheBytes += 2 * c.dInner * (c.dState + Math.max(0, c.dConv - 1)) * F32; // read and written
    cacheBytes += 2 * l.qkvColumns * Math.max(0, l.qkvConv - 1) * F32; // the Q/K/V conv state, read and written
  }
  return { dispatches: program.dispatches, weightBytes, cacheBytes };
}

type Measure = (record: (e: GPUCommandEncoder) => void) => Promise<number | null>;

/**
 * GPU milliseconds of one greedy decode step (its compute pass between two timestamps): `measure` records the step
 * into an encoder, resolves the timestamps and returns nanoseconds (or null). Advances the session by one token.
 */
async function timedStep(s: WebGpuSession, writes: GPUComputePassTimestampWrites, measure: Measure): Promise<number | null> {
  const probe = s.probe();
  probe.advance();
  const ns = await measure((e) => probe.program.record(e, probe.position, writes));
  return ns === null ? null : ns / 1e6;
}

/** DecodeProgram.recordVariant at the session's position (it changes the session's state). */
export function recordDecodeVariant(
  s: WebGpuSession,
  encoder: GPUCommandEncoder,
  repeats: number,
  replace: (d: DispatchInfo, pass: GPUComputePassEncoder) => boolean,
  writes?: GPUComputePassTimestampWrites,
): void {
  const { program, position } = s.probe();
  program.recordVariant(encoder, position, repeats, replace, writes);
}

export interface FullSizeBenchOptions {
  /** Keep only the first N layers (a smoke run on a CPU emulation); default all. */
  layers?: number;
  prefill: number[];
  contexts: number[];
  steps: number;
  dtype?: WeightDType;
  seed?: number;
  decodeThreads?: number;
  decodeRows?: number;
  decodeMerge?: boolean;
  decodeUnroll?: number;
  decodeSubgroups?: boolean;
  decodeStage?: boolean;
  /** Bytes of the copy kernel's source buffer (default min(512 MiB, the binding limit)). */
  copyBytes?: number;
  log?: (line: string) => void;
}

export interface DecodeFigures {
  context: number;
  /** Greedy steps timed (o.steps, fewer where the model's positions end first). */
  steps: number;
  ms_per_token: number;
  gpu_ms_per_token: number | null;
  dispatches_per_token: number;
  weight_bytes_per_token: number;
  cache_bytes_per_token: number;
  bytes_per_token: number;
  achieved_gbps: number;
  fraction_of_copy: number;
  /** (ms/token − bytes/copy bandwidth) / dispatches: what each dispatch costs beyond moving its bytes. */
  us_per_dispatch_over_floor: number;
  /** The dispatch structure's ceilings (first context only; null without timestamps). */
  ceilings: DecodeCeilings | null;
}

export interface FullSizeBenchResult {
  adapter: string;
  model: string;
  layers: number;
  weight_dtype: WeightDType;
  weight_bytes: number;
  gpu_allocated_bytes: number;
  decode_threads: number;
  decode_rows: number | null;
  decode_merge: boolean;
  decode_unroll: number;
  decode_subgroups: boolean;
  decode_stage: boolean;
  copy_bytes: number;
  copy_gbps: number;
  empty_dispatch_host_us: number;
  empty_dispatch_gpu_us: number | null;
  /** GPU µs per dispatch of a pass of 195 empty dispatches of 512 workgroups × 256 threads. */
  empty_wide_dispatch_gpu_us: number | null;
  prefill: Array<{ tokens: number; ms: number; tokens_per_s: number }>;
  decode: DecodeFigures[];
}

/** The first `n` layers of a config (KV groups and global layers cut to match). */
export function truncateLayers(c: HymbaConfig, n: number): HymbaConfig {
  if (n >= c.numLayers) return c;
  return {
    ...c,
    numLayers: n,
    layers: c.layers.slice(0, n),
    globalLayers: c.globalLayers.filter((g) => g < n),
    kvReuseGroups: c.kvReuseGroups.map((g) => g.filter((i) => i < n)).filter((g) => g.length > 1),
  };
}

const copyKernel: Kernel = {
  name: 'copy-bandwidth',
  bindings: ['read', 'rw'],
  wgsl: /* wgsl */ `
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<u32>>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  // Grid-stride loop: a fixed grid of workgroups walks the whole buffer.
  let stride = nwg.x * 256u;
  for (var i = id.x; i < p.n; i += stride) { dst[i] = src[i]; }
}`,
};

// Writes nothing, but binds x read_write, so Dawn puts a barrier between consecutive dispatches, as between decode's.
const emptyKernel = (threads: number): Kernel => ({
  name: `empty-${threads}`,
  bindings: ['rw'],
  wgsl: /* wgsl */ `
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<u32>;
@compute @workgroup_size(${threads})
fn main(@builtin(local_invocation_index) lid: u32) { if (lid == 0u && p.n == 12345u) { x[0] = 1u; } }`,
});

// Reads up to three buffers (a decode dispatch's streams; unused ones bound to a 16-byte dummy), each by its own
// slice of the grid, `unroll` vec4 loads per thread, and writes nothing unless the data hit a 128-bit pattern (so the
// loads cannot be dropped). It binds `sink` read_write, so Dawn puts a barrier between consecutive dispatches, as
// between decode's.
const readKernel = (unroll: number): Kernel => {
  const loads = Array.from({ length: unroll }, (_, k) => k);
  return {
    name: `read-${unroll}`,
    bindings: ['read', 'read', 'read', 'rw'],
    wgsl: /* wgsl */ `
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> s0: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> s1: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> s2: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read_write> sink: array<u32>;
const PER = ${256 * unroll}u;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n0 = arrayLength(&s0);
  let n1 = arrayLength(&s1);
  let n2 = arrayLength(&s2);
  let g0 = (n0 + PER - 1u) / PER;
  let g1 = (n1 + PER - 1u) / PER;
  var acc = vec4<u32>(0u);
  if (wg.x < g0) {
    let base = wg.x * PER + lid;
${loads.map((k) => `    if (base + ${k * 256}u < n0) { acc ^= s0[base + ${k * 256}u]; }`).join('\n')}
  } else if (wg.x < g0 + g1) {
    let base = (wg.x - g0) * PER + lid;
${loads.map((k) => `    if (base + ${k * 256}u < n1) { acc ^= s1[base + ${k * 256}u]; }`).join('\n')}
  } else {
    let base = (wg.x - g0 - g1) * PER + lid;
${loads.map((k) => `    if (base + ${k * 256}u < n2) { acc ^= s2[base + ${k * 256}u]; }`).join('\n')}
  }
  if (all(acc == vec4<u32>(0x9e3779b9u, 0x7f4a7c15u, 0x85ebca6bu, 0xc2b2ae35u))) { sink[0] = acc.x + p.n; }
}`,
  };
};

/** GPU ms per decode step of the decode program as it runs and of two stand-ins (DecodeFigures.ceilings). */
export interface DecodeCeilings {
  /** Steps per timed pass (one pass, best of 3). */
  repeats: number;
  /** vec4 loads per thread of the read kernel (the best of 2, 4, 8). */
  unroll: number;
  real_ms: number;
  /** Every GEMV dispatch replaced by a plain read of its weights; attention, SSM step, gather, argmax as they run. */
  gemv_reads_ms: number;
  /** Every dispatch replaced by a plain read of its streams (weights and cache entries), or an empty one. */
  all_reads_ms: number;
  /** Per kernel name: its dispatches per step, and the step's GPU ms when only they are replaced by plain reads. */
  by_kernel: Array<{ name: string; count: number; ms: number }>;
}

/**
 * How fast could this dispatch structure be? The session's decode step, `repeats` times in one pass, with GEMVs (or
 * every dispatch) standing in as plain reads of the bytes they must move, in the same order and with the same
 * barriers. Needs timestamps; changes the session's state (benchmarks only).
 */
async function decodeCeilings(engine: WebGpuEngine, s: WebGpuSession, timer: GpuTimer, repeats: number): Promise<DecodeCeilings | null> {
  if (!timer.available) return null;
  const rt = engine.rt;
  const uniform = rt.create(256, 'ceiling params', GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  const dummy = rt.create(16, 'ceiling dummy');
  const sink = rt.create(16, 'ceiling sink');
  try {
    const time = async (replace: Parameters<typeof recordDecodeVariant>[3]) => {
      let best = Infinity;
      for (let k = 0; k < 3; k++) {
        const ns = await timer.ns((e) => recordDecodeVariant(s, e, repeats, replace, timer.writes(true, true)));
        best = Math.min(best, ns! / 1e6 / repeats);
      }
      return best;
    };
    const real = await time(() => false);
    const reader = (unroll: number) => {
      const { pipeline, layout } = rt.pipeline(readKernel(unroll));
      // Per dispatch index: the bind group of its streams and the workgroups that cover them.
      const reads = new Map<number, { bindGroup: GPUBindGroup; groups: number }>();
      return (d: DispatchInfo, pass: GPUComputePassEncoder) => {
        let g = reads.get(d.index);
        if (!g) {
          const streams = d.streams.filter((x) => x.bytes >= 16);
          if (streams.length > 3) throw new Error(`${d.name}: ${streams.length} streams, the read kernel binds 3`);
          const bound = [0, 1, 2].map((i) => ({
            buffer: streams[i]?.buffer ?? dummy,
            size: streams[i] ? Math.floor(streams[i].bytes / 16) * 16 : 16,
          }));
          g = {
            bindGroup: rt.device.createBindGroup({
              layout,
              entries: [{ buffer: uniform, size: 16 }, ...bound, { buffer: sink }].map((resource, binding) => ({ binding, resource })),
            }),
            groups: bound.reduce((a, b) => a + Math.ceil(b.size / 16 / (256 * unroll)), 0),
          };
          reads.set(d.index, g);
        }
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, g.bindGroup);
        pass.dispatchWorkgroups(g.groups);
        return true;
      };
    };
    let best: Omit<DecodeCeilings, 'by_kernel'> | null = null;
    for (const unroll of [2, 4, 8]) {
      const read = reader(unroll);
      await time(read); // warm-up: the pipeline and bind groups
      const gemvReads = await time((d, pass) => d.name.startsWith('gemv') && read(d, pass));
      const allReads = await time(read);
      if (!best || gemvReads + allReads < best.gemv_reads_ms + best.all_reads_ms)
        best = { repeats, unroll, real_ms: real, gemv_reads_ms: gemvReads, all_reads_ms: allReads };
    }
    const read = reader(best!.unroll);
    const counts = new Map<string, number>();
    for (const name of s.probe().program.names()) counts.set(name, (counts.get(name) ?? 0) + 1);
    const byKernel = [];
    for (const [name, count] of counts) byKernel.push({ name, count, ms: await time((d, pass) => d.name === name && read(d, pass)) });
    return { ...best!, by_kernel: byKernel };
  } finally {
    rt.destroy(uniform);
    rt.destroy(dummy);
    rt.destroy(sink);
  }
}

/** GPU nanoseconds between the start and end of the compute passes recorded with `writes`, or null. */
export class GpuTimer {
  readonly available: boolean;
  private readonly device: GPUDevice;
  private querySet: GPUQuerySet | null = null;
  private resolve: GPUBuffer | null = null;
  private read: GPUBuffer | null = null;
  constructor(device: GPUDevice) {
    this.device = device;
    this.available = device.features.has('timestamp-query');
    if (this.available) {
      this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 });
      this.resolve = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
      this.read = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    }
  }
  writes(begin: boolean, end: boolean): GPUComputePassTimestampWrites | undefined {
    if (!this.querySet) return undefined;
    return { querySet: this.querySet, beginningOfPassWriteIndex: begin ? 0 : undefined, endOfPassWriteIndex: end ? 1 : undefined };
  }
  async ns(encoderDone: (e: GPUCommandEncoder) => void): Promise<number | null> {
    if (!this.querySet) return null;
    const e = this.device.createCommandEncoder();
    encoderDone(e);
    e.resolveQuerySet(this.querySet, 0, 2, this.resolve!, 0);
    e.copyBufferToBuffer(this.resolve!, 0, this.read!, 0, 16);
    this.device.queue.submit([e.finish()]);
    await this.read!.mapAsync(GPUMapMode.READ);
    const t = new BigUint64Array(this.read!.getMappedRange().slice(0));
    this.read!.unmap();
    return Number(t[1] - t[0]);
  }
  destroy(): void {
    this.querySet?.destroy();
    this.resolve?.destroy();
    this.read?.destroy();
  }
}

/** Copy-kernel bandwidth in GB/s (bytes read + bytes written), best of a few repeats. */
async function copyBandwidth(engine: WebGpuEngine, bytes: number): Promise<number> {
  const rt = engine.rt;
  const src = rt.create(bytes, 'copy src');
  const dst = rt.create(bytes, 'copy dst');
  try {
    const n = bytes / 16;
    const groups = Math.min(65535, Math.ceil(n / 256));
    // Warm up, then time a pass of `reps` copies per submit.
    let best = Infinity;
    for (const reps of [1, 4, 4, 4]) {
      const pass = rt.begin('copy bandwidth');
      for (let r = 0; r < reps; r++) pass.dispatch(copyKernel, [n], [src, dst], [groups]);
      const t0 = performance.now();
      await pass.submit();
      await rt.device.queue.onSubmittedWorkDone();
      const ms = (performance.now() - t0) / reps;
      if (reps > 1) best = Math.min(best, ms);
    }
    return (2 * bytes) / (best * 1e6);
  } finally {
    rt.destroy(src);
    rt.destroy(dst);
  }
}

/**
 * Host µs to encode + submit one empty dispatch, and GPU µs per dispatch (timestamps), from a pass of `n` dispatches
 * of `groups` workgroups of `threads` each (a decode GEMV's grid: the drain and ramp-up of a wide dispatch).
 */
async function emptyDispatch(
  engine: WebGpuEngine,
  timer: GpuTimer,
  n = 512,
  groups = 1,
  threads = 64,
): Promise<{ host: number; gpu: number | null }> {
  const rt = engine.rt;
  const { pipeline, layout } = rt.pipeline(emptyKernel(threads));
  const u = rt.create(256, 'empty params', GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  const x = rt.create(16, 'empty out');
  const bg = rt.device.createBindGroup({
    layout,
    entries: [
      { binding: 0, resource: { buffer: u, size: 16 } },
      { binding: 1, resource: { buffer: x } },
    ],
  });
  const record = (e: GPUCommandEncoder) => {
    const pass = e.beginComputePass({ timestampWrites: timer.writes(true, true) });
    for (let i = 0; i < n; i++) {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bg);
      pass.dispatchWorkgroups(groups);
    }
    pass.end();
  };
  let host = Infinity;
  let gpu: number | null = null;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    const e = rt.device.createCommandEncoder();
    record(e);
    rt.device.queue.submit([e.finish()]);
    host = Math.min(host, ((performance.now() - t0) * 1000) / n);
    await rt.device.queue.onSubmittedWorkDone();
    const ns = await timer.ns(record);
    if (ns !== null) gpu = Math.min(gpu ?? Infinity, ns / 1000 / n);
  }
  rt.destroy(u);
  rt.destroy(x);
  return { host, gpu };
}

export async function benchFullSize(ctx: GpuContext, full: HymbaConfig, o: FullSizeBenchOptions): Promise<FullSizeBenchResult> {
  const log = o.log ?? (() => {});
  const config = truncateLayers(full, o.layers ?? full.numLayers);
  const t0 = performance.now();
  const { engine } = await WebGpuEngine.createRandom(ctx, config, {
    seed: o.seed ?? 0,
    dtype: o.dtype ?? 'BF16',
    decodeThreads: o.decodeThreads,
    decodeRows: o.decodeRows,
    decodeMerge: o.decodeMerge,
    decodeUnroll: o.decodeUnroll,
    decodeSubgroups: o.decodeSubgroups,
    decodeStage: o.decodeStage,
  });
  const timer = new GpuTimer(ctx.device);
  log(`random ${config.numLayers}-layer model on the GPU in ${(performance.now() - t0).toFixed(0)} ms`);
  try {
    const weightBytes = engine.weightSet().reduce((a, w) => a + w.bytes, 0);
    const copyBytes = Math.floor(Math.min(o.copyBytes ?? 512 * 2 ** 20, engine.maxActivation) / 16) * 16;
    const copy = await copyBandwidth(engine, copyBytes);
    log(`copy kernel: ${copy.toFixed(1)} GB/s over ${(copyBytes / 2 ** 20).toFixed(0)} MiB`);
    const empty = await emptyDispatch(engine, timer);
    // As many dispatches as a decode step has, each as wide as a GEMV's grid: the gaps between decode's dispatches.
    const wide = await emptyDispatch(engine, timer, 195, 512, 256);
    const random = mulberry32(1);
    const ids = (n: number) => [
      config.bosTokenId,
      ...Array.from({ length: n - 1 }, () => 2 + Math.floor(random() * (config.vocabSize - 2))),
    ];

    const prefill: FullSizeBenchResult['prefill'] = [];
    for (const n of o.prefill) {
      const s = await engine.session({ maxContext: n });
      await s.prefill(ids(Math.min(n, 8))); // warm-up: pipelines of the prefill path
      s.dispose();
      const s2 = await engine.session({ maxContext: n });
      const tp = performance.now();
      await s2.prefill(ids(n));
      const ms = performance.now() - tp;
      s2.dispose();
      engine.trim();
      prefill.push({ tokens: n, ms, tokens_per_s: (n / ms) * 1000 });
      log(`prefill ${n}: ${ms.toFixed(1)} ms`);
    }

    const decode: DecodeFigures[] = [];
    for (const context of o.contexts) {
      // Warm-up 4 + timed steps + 1 timed step must fit in the model's positions.
      const steps = Math.max(1, Math.min(o.steps, config.maxPositionEmbeddings - context - 8));
      const s = await engine.session({ maxContext: context + steps + 8 });
      // Fill the cache in prompt chunks of ≤ 1024 tokens (a continuation prefill reads the same caches).
      const prompt = ids(context);
      for (let i = 0; i < context; i += 1024) await s.prefill(prompt.slice(i, i + 1024));
      engine.trim();
      await s.greedy(5, 4); // warm-up (pipelines, bind groups)
      const cost = decodeCost(s);
      const td = performance.now();
      await s.greedy(7, steps);
      const ms = (performance.now() - td) / steps;
      let gpuMs: number | null = null;
      if (timer.available) gpuMs = await timedStep(s, timer.writes(true, true)!, (e) => timer.ns(e));
      // Enough steps per timed pass to be well above the timestamp quantum (65.5 µs), few on a CPU emulation.
      const repeats = Math.max(1, Math.min(16, Math.round(100 / (gpuMs ?? 100))));
      const ceilings = decode.length === 0 ? await decodeCeilings(engine, s, timer, repeats) : null;
      s.dispose();
      const bytes = cost.weightBytes + cost.cacheBytes;
      const gbps = bytes / (ms * 1e6);
      decode.push({
        context,
        steps,
        ms_per_token: ms,
        gpu_ms_per_token: gpuMs,
        dispatches_per_token: cost.dispatches,
        weight_bytes_per_token: cost.weightBytes,
        cache_bytes_per_token: cost.cacheBytes,
        bytes_per_token: bytes,
        achieved_gbps: gbps,
        fraction_of_copy: gbps / copy,
        us_per_dispatch_over_floor: ((ms - bytes / (copy * 1e6)) * 1000) / cost.dispatches,
        ceilings,
      });
      log(`decode @ ${context} (${steps} steps): ${ms.toFixed(3)} ms/token${gpuMs !== null ? ` (GPU ${gpuMs.toFixed(3)} ms)` : ''}`);
    }
    return {
      adapter: [ctx.adapterInfo.vendor, ctx.adapterInfo.architecture, ctx.adapterInfo.device, ctx.adapterInfo.description]
        .filter(Boolean)
        .join(' / '),
      model: config.numLayers === full.numLayers ? 'hymba-1.5b' : `hymba-1.5b (first ${config.numLayers} of ${full.numLayers} layers)`,
      layers: config.numLayers,
      weight_dtype: engine.weightDtype,
      weight_bytes: weightBytes,
      gpu_allocated_bytes: engine.allocatedBytes(),
      decode_threads: engine.model.decode.threads,
      decode_rows: engine.model.decode.rows ?? null,
      decode_merge: engine.model.decode.merge,
      decode_unroll: engine.model.decode.unroll,
      decode_subgroups: engine.model.decode.subgroups,
      decode_stage: engine.model.decode.stage,
      copy_bytes: copyBytes,
      copy_gbps: copy,
      empty_dispatch_host_us: empty.host,
      empty_dispatch_gpu_us: empty.gpu,
      empty_wide_dispatch_gpu_us: wide.gpu,
      prefill,
      decode,
    };
  } finally {
    timer.destroy();
    engine.dispose();
  }
}

export function formatFullSize(r: FullSizeBenchResult): string {
  const mb = (b: number) => (b / 1e6).toFixed(1);
  const lines = [
    `${r.model}, random ${r.weight_dtype} weights (${mb(r.weight_bytes)} MB on the GPU, ${mb(r.gpu_allocated_bytes)} MB held), batch 1`,
    `adapter: ${r.adapter}; decode GEMV: ${r.decode_threads} threads${r.decode_rows ? `, ${r.decode_rows} rows` : ''} per workgroup, ` +
      `${r.decode_unroll} loads ahead${r.decode_subgroups ? ', subgroup reductions' : ''}${r.decode_stage ? '' : ', inputs not staged'}; small kernels ${r.decode_merge ? 'merged' : 'apart'}`,
    `roofline: copy kernel ${r.copy_gbps.toFixed(1)} GB/s (read + write, ${mb(r.copy_bytes)} MB); empty dispatch ${r.empty_dispatch_host_us.toFixed(2)} µs host` +
      (r.empty_dispatch_gpu_us !== null ? `, ${r.empty_dispatch_gpu_us.toFixed(2)} µs GPU` : '') +
      (r.empty_wide_dispatch_gpu_us !== null
        ? `; 195 empty dispatches of 512×256 threads: ${r.empty_wide_dispatch_gpu_us.toFixed(2)} µs GPU each`
        : ''),
    '',
    'prefill tokens   ms        tok/s',
    ...r.prefill.map((p) => `${String(p.tokens).padStart(14)}  ${p.ms.toFixed(1).padStart(8)}  ${p.tokens_per_s.toFixed(1).padStart(9)}`),
    '',
    'decode context  ms/token  GPU ms/tok  dispatches  µs/dispatch*  weights MB  cache MB  GB/s     % of copy',
    ...r.decode.map(
      (d) =>
        `${String(d.context).padStart(14)}  ${d.ms_per_token.toFixed(3).padStart(8)}  ${(d.gpu_ms_per_token?.toFixed(3) ?? '—').padStart(10)}  ` +
        `${String(d.dispatches_per_token).padStart(10)}  ${d.us_per_dispatch_over_floor.toFixed(2).padStart(12)}  ${mb(d.weight_bytes_per_token).padStart(10)}  ` +
        `${mb(d.cache_bytes_per_token).padStart(8)}  ${d.achieved_gbps.toFixed(1).padStart(7)}  ${(100 * d.fraction_of_copy).toFixed(1).padStart(8)}`,
    ),
    '* (ms/token − bytes/copy bandwidth) / dispatches: the cost of a dispatch beyond moving its bytes',
  ];
  for (const d of r.decode) {
    const c = d.ceilings;
    if (!c) continue;
    const pct = (ms: number) => ((100 * d.bytes_per_token) / (ms * 1e6) / r.copy_gbps).toFixed(1).padStart(5);
    lines.push(
      '',
      `ceilings of this dispatch structure @ ${d.context} (GPU ms per step, ${c.repeats} steps in one pass; read kernel ${c.unroll} loads per thread):`,
      `  the step as it runs                                            ${c.real_ms.toFixed(3)} ms  ${pct(c.real_ms)} % of copy`,
      `  every GEMV only reads its weights (other kernels as they run)  ${c.gemv_reads_ms.toFixed(3)} ms  ${pct(c.gemv_reads_ms)} % of copy`,
      `  every dispatch only reads its weights and cache entries        ${c.all_reads_ms.toFixed(3)} ms  ${pct(c.all_reads_ms)} % of copy`,
      '  what each kernel costs beyond a plain read of its bytes (the step as it runs − the step with only its dispatches as reads):',
      ...c.by_kernel.map(
        (k) =>
          `    ${k.name.padEnd(56)} ×${String(k.count).padStart(3)}  ${(c.real_ms - k.ms).toFixed(3).padStart(7)} ms  (${(((c.real_ms - k.ms) / k.count) * 1000).toFixed(1)} µs each)`,
      ),
    );
  }
  return lines.join('\n');
}

/**
 * Decode ms/token for several GEMV shapes on one model (the tuning sweep): each shape gets a fresh session with a
 * `context`-token prompt, a warm-up, then `steps` greedy steps.
 */
export async function sweepDecodeShapes(
  ctx: GpuContext,
  full: HymbaConfig,
  o: {
    layers?: number;
    context: number;
    steps: number;
    /** [threads, rows, merge, unroll, subgroups, stage]: WebGpuEngineOptions decodeThreads, decodeRows, decodeMerge,
     * decodeUnroll, decodeSubgroups (only where the device allows them), decodeStage. */
    shapes: Array<[number, number | undefined, boolean?, number?, boolean?, boolean?]>;
    seed?: number;
  },
): Promise<
  Array<{
    threads: number;
    rows: number | null;
    merge: boolean;
    unroll: number;
    subgroups: boolean;
    stage: boolean;
    ms_per_token: number;
    gpu_ms_per_token: number | null;
    profile: Record<string, { count: number; ms: number }>;
  }>
> {
  const config = truncateLayers(full, o.layers ?? full.numLayers);
  const { engine } = await WebGpuEngine.createRandom(ctx, config, { seed: o.seed ?? 0 });
  const timer = new GpuTimer(ctx.device);
  const out = [];
  try {
    const random = mulberry32(2);
    const prompt = [config.bosTokenId, ...Array.from({ length: o.context - 1 }, () => 2 + Math.floor(random() * (config.vocabSize - 2)))];
    const defaults = {
      merge: engine.model.decode.merge,
      unroll: engine.model.decode.unroll,
      subgroups: engine.model.decode.subgroups,
      stage: engine.model.decode.stage,
    };
    for (const [threads, rows, merge, unroll, subgroups, stage] of o.shapes) {
      engine.model.decode.threads = threads;
      engine.model.decode.rows = rows;
      engine.model.decode.merge = merge ?? defaults.merge;
      engine.model.decode.unroll = unroll ?? defaults.unroll;
      engine.model.decode.subgroups = (subgroups ?? true) && defaults.subgroups;
      engine.model.decode.stage = stage ?? defaults.stage;
      const s = await engine.session({ maxContext: o.context + 2 * o.steps + 8 });
      await s.prefill(prompt);
      await s.greedy(5, 4);
      const t0 = performance.now();
      await s.greedy(7, o.steps);
      const ms = (performance.now() - t0) / o.steps;
      const gpuMs = timer.available ? await timedStep(s, timer.writes(true, true)!, (e) => timer.ns(e)) : null;
      // Per-kernel GPU time from timestamps when the adapter has them, else isolated wall time.
      // (Both re-run kernels that update state: the session is not used after.)
      const { program, position } = s.probe();
      const profile = Object.fromEntries(
        timer.available
          ? await program.profileGpu(position, timer.writes(true, true)!, (e) => timer.ns(e))
          : await program.profile(position, 2),
      );
      s.dispose();
      out.push({
        threads,
        rows: rows ?? null,
        merge: engine.model.decode.merge,
        unroll: engine.model.decode.unroll,
        subgroups: engine.model.decode.subgroups,
        stage: engine.model.decode.stage,
        ms_per_token: ms,
        gpu_ms_per_token: gpuMs,
        profile,
      });
    }
  } finally {
    timer.destroy();
    engine.dispose();
  }
  return out;
}
