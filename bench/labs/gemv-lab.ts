// A laboratory for the decode GEMVs on a real GPU (docs/performance.md, "GEMV lab"): the four GEMV shapes of a
// Hymba-1.5B layer, timed with GPU timestamps over passes of back-to-back dispatches (a barrier between each, as in
// decode), under three cache conditions:
//   cold:  every dispatch reads a different copy of the weights (the copies add up to far more than the L2), as in
//          a decode step, where each layer's weights are read once;
//   warm:  every dispatch reads the same copy (what a per-kernel profile that repeats one dispatch measures);
//   after-prefetch: each GEMV is preceded by a dispatch that only reads its weights (so they are in L2 if they fit);
//          reported as (time of [prefetch, GEMV] pairs − time of the prefetches alone) per GEMV.
// And a latency-bound dispatch (a chain of dependent loads, like decode's attention/SSM kernels) with and without
// extra workgroups that read the NEXT GEMV's weights meanwhile: does the next GEMV get faster, and does the
// latency-bound dispatch get slower?
// Bundled like bench/h200.ts: npx esbuild bench/labs/gemv-lab.ts --bundle --platform=node --format=esm --external:webgpu
//   node lab.mjs        (DAWN_FLAGS as for h200.ts; --smoke for a tiny check on SwiftShader)
import {
  gemvBindings,
  gemvKernel,
  gemvParams,
  gemvGroups,
  gemvStages,
  rowsPerGroup,
  type Epilogue,
  type Prologue,
} from '../../engine/webgpu/kernels/gemv.ts';
import { GpuRuntime, type Kernel } from '../../engine/webgpu/runtime.ts';
import { benchDevice, dawnFlags } from '../../engine/webgpu/node-device.node.ts';
import { GpuTimer } from '../decode-bench.ts';

const flags = dawnFlags();
const ctx = await benchDevice(['timestamp-query']);
const device = ctx.device;
if (!device.features.has('timestamp-query')) throw new Error('the lab needs timestamp-query');
const hasSubgroups = device.features.has('subgroups');
console.log(`adapter: ${ctx.adapterInfo.description || ctx.adapterInfo.device} flags: ${flags.join(' ') || '(none)'}`);
// The engine's pipeline cache and buffer accounting (runtime.ts), without a model.
const rt = new GpuRuntime(ctx, 'gpu');
const timer = new GpuTimer(device);

const smoke = process.argv.includes('--smoke');
const S = smoke ? 8 : 1; // shrink factor for SwiftShader
const N = smoke ? 2 : 24; // dispatches per timed pass
const buffer = (bytes: number) => rt.create(bytes, 'lab');

// Random bf16 weights in [-0.05, 0.05), one host block reused for every copy (only the addresses matter here).
const maxWords = (5504 * 1600) / 2 / S;
const block = new Uint32Array(maxWords);
{
  const f = new Float32Array(2);
  const u = new Uint32Array(f.buffer);
  let s = 1;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 0.1;
  for (let i = 0; i < maxWords; i++) {
    f[0] = rnd();
    f[1] = rnd();
    block[i] = (u[0] >>> 16) | (u[1] & 0xffff0000);
  }
}
const vec = (n: number, v = 0.5) => {
  const b = buffer(4 * n);
  device.queue.writeBuffer(b, 0, new Float32Array(n).fill(v));
  return b;
};

interface Shape {
  name: string;
  rows: number;
  K: number;
  prologue: Prologue;
  epilogue: Epilogue;
}
const shapes: Shape[] = [
  { name: 'in_proj', rows: 8960 / S, K: 1600, prologue: 'norm', epilogue: 'store' },
  { name: 'out_proj', rows: 1600 / S, K: 3200, prologue: 'fuse', epilogue: 'residual' },
  { name: 'gate+up', rows: 5504 / S, K: 1600, prologue: 'norm', epilogue: 'swiglu' },
  { name: 'down', rows: 1600 / S, K: 5504, prologue: 'plain', epilogue: 'residual' },
];
const bytesOf = (s: Shape) => s.rows * s.K * 2 * (s.epilogue === 'swiglu' ? 2 : 1);
// Copies per shape: ≥ 400 MB in all, so a copy is evicted from the 50 MB L2 before it comes round again.
const copiesOf = (s: Shape) => (smoke ? 2 : Math.max(8, Math.ceil(400e6 / bytesOf(s))));

const acts = {
  x: vec(5504),
  gain: vec(5504, 1),
  a: vec(3200),
  y: vec(3200, 0.25),
  g1: vec(3200, 1),
  g2: vec(3200, 1),
  resid: vec(8960),
  out: vec(8960),
};

interface Dispatch {
  pipeline: GPUComputePipeline;
  bind: GPUBindGroup;
  groups: [number, number];
}
function dispatchOf(k: Kernel, params: number[], buffers: GPUBuffer[], groups: [number, number]): Dispatch {
  const { pipeline, layout } = rt.pipeline(k);
  const u = rt.create(256, 'lab params', GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  device.queue.writeBuffer(u, 0, new Uint32Array(params.map((v) => v >>> 0)));
  const bind = device.createBindGroup({
    layout,
    entries: [{ binding: 0, resource: { buffer: u } }, ...buffers.map((buffer, i) => ({ binding: i + 1, resource: { buffer } }))],
  });
  return { pipeline, bind, groups };
}
/** GPU µs of one pass running `list` in order (best of 3). */
async function passUs(list: Dispatch[]): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const ns = await timer.ns((e) => {
      const pass = e.beginComputePass({ timestampWrites: timer.writes(true, true) });
      for (const d of list) {
        pass.setPipeline(d.pipeline);
        pass.setBindGroup(0, d.bind);
        pass.dispatchWorkgroups(d.groups[0], d.groups[1]);
      }
      pass.end();
    });
    best = Math.min(best, ns! / 1000);
  }
  return best;
}

// Reads words [0, n) of w; writes only if their xor is a value random weights never give (keeps the loads alive).
const prefetchKernel: Kernel = {
  name: 'prefetch',
  bindings: ['read', 'rw'],
  wgsl: /* wgsl */ `
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> sink: array<u32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  var acc = vec4<u32>(0u);
  let stride = nwg.x * 256u;
  for (var i = id.x; i < p.n; i += stride) { acc ^= w[i]; }
  if (all(acc == vec4<u32>(0x12345678u))) { sink[0] = 1u; }
}`,
};
// A latency-bound dispatch: `chains` workgroups each follow `hops` dependent loads through a 4 MB table (L2);
// workgroups past them (when p.n > 0) read n words of w, like prefetchKernel.
const latencyKernel: Kernel = {
  name: 'latency',
  bindings: ['read', 'read', 'read', 'rw'],
  wgsl: /* wgsl */ `
struct Params { n: u32, chains: u32, hops: u32, prefetchGroups: u32, n2: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> table: array<u32>;
@group(0) @binding(2) var<storage, read> w: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> w2: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read_write> sink: array<u32>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  if (wg.x < p.chains) {
    var j = (wg.x * 977u + lid * 131u) & 0xfffffu;
    for (var h = 0u; h < p.hops; h++) { j = table[j]; }
    if (j == 0xffffffffu) { sink[0] = j; }
    return;
  }
  var acc = vec4<u32>(0u);
  let stride = p.prefetchGroups * 256u;
  for (var i = (wg.x - p.chains) * 256u + lid; i < p.n; i += stride) { acc ^= w[i]; }
  for (var i = (wg.x - p.chains) * 256u + lid; i < p.n2; i += stride) { acc ^= w2[i]; }
  if (all(acc == vec4<u32>(0x12345678u))) { sink[0] = 1u; }
}`,
};
const sink = buffer(16);
const table = buffer(4 << 20);
{
  const t = new Uint32Array(1 << 20);
  for (let i = 0; i < t.length; i++) t[i] = (Math.imul(i, 2654435761) >>> 12) & 0xfffff;
  device.queue.writeBuffer(table, 0, t);
}
const emptyKernel: Kernel = {
  name: 'empty',
  bindings: ['rw'],
  wgsl: /* wgsl */ `
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<u32>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) { if (lid == 0u && p.n == 12345u) { x[0] = 1u; } }`,
};

interface Variant {
  threads: number;
  rows?: number;
  unroll: number;
  subgroups?: boolean;
}
// Per shape: the engine's default first (256 threads, rows by rowsPerGroup, unroll 4), then alternatives (run 2
// explored rows, threads and unroll: bench/results/gemv-lab-h200-run2.txt; subgroup reductions: run 5).
const base: Variant = { threads: 256, unroll: 4 };
// VARIANTS (JSON list of Variant) replaces the list below; SHAPES (comma-separated names) picks shapes.
const envVariants = process.env.VARIANTS ? (JSON.parse(process.env.VARIANTS) as Variant[]) : null;
const variantsOf = (s: Shape): Variant[] =>
  envVariants ?? [
    base,
    ...(hasSubgroups ? [{ ...base, subgroups: true }] : []),
    ...(smoke
      ? []
      : [
          { threads: 128, unroll: 4 },
          ...(hasSubgroups ? [{ threads: 128, unroll: 4, subgroups: true }] : []),
          ...(s.prologue === 'plain' ? [8] : [8, 32]).map((rows) => ({ threads: 256, rows, unroll: 4 })),
        ]),
  ];
// --prefetch: the L2-prefetch experiments (run 1: bench/results/gemv-lab-h200-run1.txt).
const prefetchRuns = process.argv.includes('--prefetch');

const results: Record<string, unknown>[] = [];
const log = (r: Record<string, unknown>) => {
  results.push(r);
  console.log(JSON.stringify(r));
};
const copyWeights: Map<string, GPUBuffer[]> = new Map();
function weightsOf(s: Shape): GPUBuffer[] {
  let list = copyWeights.get(s.name);
  if (!list) {
    list = [];
    const words = (s.rows * s.K) / 2;
    for (let c = 0; c < copiesOf(s) * (s.epilogue === 'swiglu' ? 2 : 1); c++) {
      const b = buffer(4 * words);
      for (let off = 0; off < words; off += maxWords) device.queue.writeBuffer(b, 4 * off, block, 0, Math.min(maxWords, words - off));
      list.push(b);
    }
    copyWeights.set(s.name, list);
  }
  return list;
}
function gemvDispatch(s: Shape, v: Variant, copy: number): Dispatch {
  const rows = Math.min(v.threads, v.rows ?? rowsPerGroup(s.rows, s.prologue));
  const stage = s.prologue !== 'plain' && gemvStages(s.K, s.prologue, device.limits.maxComputeWorkgroupStorageSize);
  const k = gemvKernel({
    dtype: 'BF16',
    K: s.K,
    rowsPerGroup: rows,
    threads: v.threads,
    prologue: s.prologue,
    epilogue: s.epilogue,
    stage,
    unroll: v.unroll,
    subgroups: v.subgroups,
  });
  const ws = weightsOf(s);
  const two = s.epilogue === 'swiglu';
  const bufs = gemvBindings({ dtype: 'BF16', K: s.K, rowsPerGroup: rows, prologue: s.prologue, epilogue: s.epilogue }).map((n) =>
    n === 'w' ? ws[two ? 2 * copy : copy] : n === 'w2' ? ws[2 * copy + 1] : acts[n as keyof typeof acts],
  );
  return dispatchOf(k, gemvParams(s.K, s.rows, 0, { eps: 1e-6, hasA: true, hasY: true, vec: true }), bufs, gemvGroups(s.rows, rows));
}
const prefetchDispatches = (s: Shape, copy: number): Dispatch[] => {
  const ws = weightsOf(s);
  const list = s.epilogue === 'swiglu' ? [ws[2 * copy], ws[2 * copy + 1]] : [ws[copy]];
  return list.map((w) => dispatchOf(prefetchKernel, [w.size / 16], [w, sink], [Math.min(1024, Math.ceil(w.size / 16 / 256)), 1]));
};

const empty = dispatchOf(emptyKernel, [0], [sink], [540, 1]);
log({ what: 'empty dispatch (540 workgroups)', us: (await passUs(Array(N).fill(empty))) / N });

for (const s of shapes.filter((x) => !process.env.SHAPES || process.env.SHAPES.split(',').includes(x.name))) {
  const copies = copiesOf(s);
  const mb = bytesOf(s) / 1e6;
  const variants = variantsOf(s);
  for (const v of variants) {
    const cold = Array.from({ length: N }, (_, i) => gemvDispatch(s, v, i % copies));
    const warm = Array.from({ length: N }, () => gemvDispatch(s, v, 0));
    const coldUs = (await passUs(cold)) / N;
    const warmUs = (await passUs(warm)) / N;
    const r: Record<string, unknown> = {
      shape: s.name,
      MB: +mb.toFixed(1),
      ...v,
      cold_us: +coldUs.toFixed(2),
      cold_TBps: +(mb / coldUs).toFixed(2),
      warm_us: +warmUs.toFixed(2),
    };
    if (v === variants[0] && prefetchRuns) {
      const pre = Array.from({ length: N }, (_, i) => prefetchDispatches(s, i % copies)).flat();
      const pairs = Array.from({ length: N }, (_, i) => [...prefetchDispatches(s, i % copies), gemvDispatch(s, v, i % copies)]).flat();
      const preUs = await passUs(pre);
      const pairUs = await passUs(pairs);
      r.prefetch_us = +(preUs / N).toFixed(2);
      r.prefetch_TBps = +(mb / (preUs / N)).toFixed(2);
      r.after_prefetch_us = +((pairUs - preUs) / N).toFixed(2);
    }
    log(r);
  }
}

// Latency-bound dispatch + the next GEMV (out_proj then gate+up), with and without prefetch workgroups for them.
for (const hops of !prefetchRuns ? [] : smoke ? [4] : [32, 64]) {
  for (const next of [shapes[1], shapes[2]]) {
    const copies = copiesOf(next);
    const v = base;
    const ws = weightsOf(next);
    const lat = (copy: number, prefetchGroups: number): Dispatch[] => {
      const [w, w2] = next.epilogue === 'swiglu' ? [ws[2 * copy], ws[2 * copy + 1]] : [ws[copy], ws[copy]];
      const n = prefetchGroups ? w.size / 16 : 0;
      const n2 = prefetchGroups && w2 !== w ? w2.size / 16 : 0;
      return [dispatchOf(latencyKernel, [n, 128, hops, prefetchGroups, n2], [table, w, w2, sink], [128 + prefetchGroups, 1])];
    };
    for (const pg of [0, 264, 528]) {
      const latOnly = Array.from({ length: N }, (_, i) => lat(i % copies, pg)).flat();
      const withGemv = Array.from({ length: N }, (_, i) => [...lat(i % copies, pg), gemvDispatch(next, v, i % copies)]).flat();
      const a = (await passUs(latOnly)) / N;
      const b = (await passUs(withGemv)) / N;
      log({
        what: 'latency dispatch then GEMV',
        hops,
        next: next.name,
        prefetchGroups: pg,
        latency_us: +a.toFixed(2),
        pair_us: +b.toFixed(2),
        gemv_us: +(b - a).toFixed(2),
      });
    }
  }
}
if (process.env.OUT) (await import('node:fs')).writeFileSync(`${process.env.OUT}/gemv-lab.json`, JSON.stringify(results, null, 2));
process.exit(0);
