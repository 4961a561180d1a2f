// The full-size benchmark (docs/performance.md): Hymba-1.5B (or its first N layers) with deterministic random bf16
// weights made on the GPU, batch 1, on whatever adapter the context holds:
//   - the roofline: a vec4 copy kernel's bandwidth (bytes read + written), measured in the same run;
//   - the per-dispatch floor: N empty dispatches in one pass (host encoding and GPU time);
//   - prefill tokens/s at the given prompt lengths;
//   - decode ms/token at the given contexts, with dispatches per token, bytes read per token (weights as stored +
//     the KV/state entries actually read), and the achieved fraction of the copy bandwidth.
// Decode runs the session's greedy() path: one command encoder per token, the token fed back on the GPU, only the
// ids read back. With the `timestamp-query` feature the GPU time per token is measured too.

import type { HymbaConfig } from '../config.ts';
import type { GpuContext } from './device.ts';
import { WebGpuEngine } from './engine.ts';
import type { WeightDType } from './weights.ts';
import { mulberry32 } from '../sampling.ts';
import type { Kernel } from './runtime.ts';

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
      const cost = s.decodeCost();
      const td = performance.now();
      await s.greedy(7, steps);
      const ms = (performance.now() - td) / steps;
      let gpuMs: number | null = null;
      if (timer.available) gpuMs = await s.timedStep(timer.writes(true, true)!, (e) => timer.ns(e));
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
      decode_threads: engine.decodeThreads,
      decode_rows: engine.decodeRows ?? null,
      decode_merge: engine.decodeMerge,
      decode_unroll: engine.decodeUnroll,
      decode_subgroups: engine.decodeSubgroups,
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
      `${r.decode_unroll} loads ahead${r.decode_subgroups ? ', subgroup reductions' : ''}; small kernels ${r.decode_merge ? 'merged' : 'apart'}`,
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
    /** [threads, rows, merge, unroll, subgroups]: WebGpuEngineOptions decodeThreads, decodeRows, decodeMerge, decodeUnroll,
     * decodeSubgroups (only where the device allows them). */
    shapes: Array<[number, number | undefined, boolean?, number?, boolean?]>;
    seed?: number;
  },
): Promise<
  Array<{
    threads: number;
    rows: number | null;
    merge: boolean;
    unroll: number;
    subgroups: boolean;
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
    const defaults = { merge: engine.decodeMerge, unroll: engine.decodeUnroll, subgroups: engine.decodeSubgroups };
    for (const [threads, rows, merge, unroll, subgroups] of o.shapes) {
      engine.decodeThreads = threads;
      engine.decodeRows = rows;
      engine.decodeMerge = merge ?? defaults.merge;
      engine.decodeUnroll = unroll ?? defaults.unroll;
      engine.decodeSubgroups = (subgroups ?? true) && defaults.subgroups;
      const s = await engine.session({ maxContext: o.context + 2 * o.steps + 8 });
      await s.prefill(prompt);
      await s.greedy(5, 4);
      const t0 = performance.now();
      await s.greedy(7, o.steps);
      const ms = (performance.now() - t0) / o.steps;
      const gpuMs = timer.available ? await s.timedStep(timer.writes(true, true)!, (e) => timer.ns(e)) : null;
      // Per-kernel GPU time from timestamps when the adapter has them, else isolated wall time.
      const profile = Object.fromEntries(
        timer.available ? await s.profileDecodeGpu(timer.writes(true, true)!, (e) => timer.ns(e)) : await s.profileDecode(2),
      );
      s.dispose();
      out.push({
        threads,
        rows: rows ?? null,
        merge: engine.decodeMerge,
        unroll: engine.decodeUnroll,
        subgroups: engine.decodeSubgroups,
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
