// Chained GEMVs in one dispatch (docs/performance.md, "Run 19"): can decode get past the per-dispatch barrier?
//
// A decode step is a chain of small ops, each waiting for the one before; in WebGPU every dispatch of a pass waits
// for the previous one to drain, so the GPU idles for a barrier and a ramp at every op. Here the four GEMVs of a
// Hymba-1.5B layer (in_proj, out_proj, gate+up, down; 6 layers, 24 GEMVs, 550 MB of cold bf16 weights) run as a
// dataflow graph, in four forms of one GEMV kernel (R rows per workgroup, weights held in registers, the input
// staged in workgroup memory):
//   separate:   one dispatch per GEMV, no tickets and no waits (what the engine does);
//   chained:    ONE dispatch for all 24. A workgroup takes its logical index from an atomic ticket, so every lower
//               index has already started; stages are laid out in index order and a workgroup only waits for lower
//               stages, so none waits for a workgroup that has not started (the assumption of decoupled look-back
//               scans, e.g. CUB's: started workgroups keep running; WebGPU does not promise it). It loads its weights
//               first (they do not depend on the chain), then waits: one thread spins on the producer stage's
//               completion counter (a hint), then every thread reads its inputs with atomic loads and re-reads a
//               word while it still holds the sentinel 0, which outputs never hold (+0.0 is stored as −0.0). So
//               correctness needs no memory ordering between workgroups, only that atomic stores eventually become
//               visible; buffers are reset to the sentinel (clearBuffer) before each run. Every spin gives up after
//               a bound and raises an error flag instead of hanging;
//   per-layer:  the same, one dispatch per layer;
//   persistent: P workgroups loop over tickets (see persistentWgsl), holding the next ticket's weights while they
//               compute the current one; STATIC=1 assigns tickets round-robin instead (unsafe: a measurement).
// Each checks its output bit for bit against `separate`, and the error flag. GPU timestamps, best of 5.
// Bundled like bench/h200.ts: npx esbuild bench/labs/chain-lab.ts --bundle --platform=node --format=esm --external:webgpu
//   node chain.mjs        (--smoke: tiny shapes, for SwiftShader; env RS, P, XB, PLAIN, STATIC, LAYERS: see below)
import { benchDevice } from '../../engine/webgpu/node-device.node.ts';
import { GpuRuntime, type Kernel } from '../../engine/webgpu/runtime.ts';
import { GpuTimer } from '../decode-bench.ts';
import { subgroupsUsable } from '../../engine/webgpu/kernels/subgroups.ts';

const ctx = await benchDevice(['timestamp-query']);
const device = ctx.device;
// benchDevice logs GPU errors; a run with any fails.
let gpuErrors = 0;
device.addEventListener('uncapturederror', () => gpuErrors++);
const rt = new GpuRuntime(ctx, 'gpu');
const timer = new GpuTimer(device);
const smoke = process.argv.includes('--smoke');
const sg = await subgroupsUsable(device);
console.log(`adapter: ${ctx.adapterInfo.description || ctx.adapterInfo.device}; subgroups: ${sg}; plain: ${process.env.PLAIN === '1'}`);

const S = smoke ? 8 : 1;
const LAYERS = smoke ? 2 : Number(process.env.LAYERS ?? 6);

// Rows per workgroup of in_proj, out_proj, gate+up, down.
const RS = (process.env.RS ?? '8,4,8,2').split(',').map(Number);
interface Gemv {
  name: string;
  rows: number;
  K: number;
  R: number; // rows per workgroup
}
const layer: Gemv[] = [
  { name: 'in_proj', rows: 8960 / S, K: 1600 / S, R: RS[0] },
  { name: 'out_proj', rows: 1600 / S, K: 3200 / S, R: RS[1] },
  { name: 'gate+up', rows: 11008 / S, K: 1600 / S, R: RS[2] },
  { name: 'down', rows: 1600 / S, K: 5504 / S, R: RS[3] },
];
// Weight words (16 bytes, 8 bf16) a thread holds in registers: the most any stage needs.
const MAXW = Math.max(...layer.map((g) => Math.ceil(g.K / 8 / (256 / g.R))));
const MAX_STAGES = 32;
// Input words a thread requests at once while staging.
const XB = Number(process.env.XB ?? 8);
// PLAIN=1: inputs and outputs as plain loads and stores (a timing experiment: not safe without ordering).
const PLAIN = process.env.PLAIN === '1';
const load = (i: string) => (PLAIN ? `act[${i}]` : `atomicLoad(&act[${i}])`);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const KMAX = Math.max(...layer.map((g) => g.K));

const STAGE_WORDS = 12;
interface Stage extends Gemv {
  first: number;
  groups: number;
  wOff: number; // in 16-byte words
  inOff: number;
  outOff: number;
  wait: number; // producer stage + 1, 0 = none
}
const stages: Stage[] = [];
let wWords = 0;
const inputWords = KMAX; // the first stage's input, not cleared
let actWords = inputWords;
let first = 0;
let prevOut = 0;
for (let l = 0; l < LAYERS; l++) {
  for (const g of layer) {
    const groups = Math.ceil(g.rows / g.R);
    const outOff = actWords;
    actWords += Math.max(g.rows, KMAX) + 64;
    stages.push({ ...g, first, groups, wOff: wWords, inOff: stages.length ? prevOut : 0, outOff, wait: stages.length });
    prevOut = outOff;
    first += groups;
    wWords += (g.rows * g.K) / 8;
  }
}
const totalGroups = first;
const weightBytes = wWords * 16;
console.log(
  `rows per workgroup ${RS}, ${MAXW} weight words per thread, ${XB} input words at once; ${stages.length} stages, ${totalGroups} workgroups, ${(weightBytes / 1e6).toFixed(1)} MB of weights`,
);

// A row's TPR partial sums into `total` of its first lane.
const reduceWgsl = sg
  ? `var total = acc;
if (tpr <= sgs) {
  // A row's lanes lie within one subgroup: xor-shuffles among them.
  for (var o = 1u; o < tpr; o <<= 1u) { total += subgroupShuffleXor(total, o); }
} else {
  total = subgroupAdd(acc);
  if (lid % sgs == 0u) { red[lid / sgs] = total; }
  workgroupBarrier();
  if (lane == 0u) { total = 0.0; for (var k = 0u; k < tpr / sgs; k++) { total += red[lid / sgs + k]; } }
}`
  : `red[lid] = acc;
workgroupBarrier();
for (var o = tpr / 2u; o > 0u; o >>= 1u) {
  if (lane < o) { red[lid] += red[lid + o]; }
  workgroupBarrier();
}
let total = red[lid];`;
const indented = (indent: string, code: string) =>
  code
    .split('\n')
    .map((l) => indent + l)
    .join('\n');
// Wait for the producer stage, then stage the input in workgroup memory. One thread spins on the producer's
// completion counter (a hint); then all of a thread's input words are requested at once (one round trip) and
// checked, and a word still holding the sentinel is re-read until it is set (rare: its store was not yet visible).
// Needs `st` and `lid`; the nowait forms (separate, "only") skip both waits.
const inputCode = (indent: string) =>
  indented(
    indent,
    `if (lid == 0u && st.wait != 0u && p.nowait == 0u) {
  var n = 0u;
  while (atomicLoad(&sync[1u + st.wait]) < st.waitCount && n < p.limit) { n++; }
  if (n == p.limit) { atomicStore(&sync[1], 1u); }
}
workgroupBarrier();
var missing = false;
for (var c = lid; c < st.K; c += ${256 * XB}u) {
${range(XB)
  .map((k) => `  var x${k} = 1u;\n  if (c + ${k * 256}u < st.K) { x${k} = ${load(`st.inOff + c + ${k * 256}u`)}; }`)
  .join('\n')}
${range(XB)
  .map((k) => `  if (c + ${k * 256}u < st.K) { put(c + ${k * 256}u, bitcast<f32>(x${k})); }\n  missing = missing || x${k} == 0u;`)
  .join('\n')}
}
if (missing && p.nowait == 0u) {
  for (var i = lid; i < st.K; i += 256u) {
    var b = ${load('st.inOff + i')};
    var n = 0u;
    while (b == 0u && n < p.limit) { b = ${load('st.inOff + i')}; n++; }
    if (b == 0u) { atomicStore(&sync[1], 2u); }
    put(i, bitcast<f32>(b));
  }
}`,
  );
// A row's dot product from the weight registers `${prefix}0..`, reduced, stored sentinel-safe (+0.0 as −0.0), and
// the workgroup counted done for stage s once every row is stored. Needs st, s, tpr, lane, row, live.
const rowCode = (prefix: string, indent: string) =>
  indented(
    indent,
    `var acc = 0.0;
${range(MAXW)
  .map((i) => `if (live && lane + ${i}u * tpr < st.words) { acc += term(${prefix}${i}, lane + ${i}u * tpr); }`)
  .join('\n')}
${reduceWgsl}
if (live && lane == 0u) {
  var b = bitcast<u32>(total);
  if (b == 0u) { b = 0x80000000u; }
  ${PLAIN ? 'act[st.outOff + row] = b;' : 'atomicStore(&act[st.outOff + row], b);'}
}
workgroupBarrier();
if (lid == 0u) { atomicAdd(&sync[2u + s], 1u); }`,
  );
const wgsl = /* wgsl */ `${sg ? 'enable subgroups;' : ''}
struct Stage { first: u32, groups: u32, R: u32, words: u32, wOff: u32, inOff: u32, outOff: u32, wait: u32, K: u32, rows: u32, waitCount: u32, pad: u32 }
struct Params { nStages: u32, stage0: u32, limit: u32, nowait: u32, total: u32, pad0: u32, pad1: u32, pad2: u32, stages: array<Stage, ${MAX_STAGES}> }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> act: array<${PLAIN ? 'u32' : 'atomic<u32>'}>;
@group(0) @binding(3) var<storage, read_write> sync: array<atomic<u32>>; // [0] ticket, [1] error, [2 + s] done of stage s
var<workgroup> ticket: u32;
// The input, split so that a lane's 8 values for weight word j are xa[j] and xb[j]: consecutive lanes read
// consecutive 16-byte words (a flat f32 array read at stride 8 is an 8-way bank conflict).
var<workgroup> xa: array<vec4<f32>, ${KMAX / 8}>;
var<workgroup> xb: array<vec4<f32>, ${KMAX / 8}>;
fn put(i: u32, v: f32) {
  if ((i & 4u) == 0u) { xa[i / 8u][i & 3u] = v; } else { xb[i / 8u][i & 3u] = v; }
}
var<workgroup> red: array<f32, 256>;
fn lo(u: u32) -> f32 { return bitcast<f32>(u << 16u); }
fn hi(u: u32) -> f32 { return bitcast<f32>(u & 0xffff0000u); }
fn term(q: vec4<u32>, j: u32) -> f32 {
  return dot(vec4<f32>(lo(q.x), hi(q.x), lo(q.y), hi(q.y)), xa[j]) + dot(vec4<f32>(lo(q.z), hi(q.z), lo(q.w), hi(q.w)), xb[j]);
}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32${sg ? ', @builtin(subgroup_size) sgs: u32' : ''}) {
  if (lid == 0u && p.nowait == 0u) { ticket = atomicAdd(&sync[0], 1u); }
  // nowait (the separate and "only" forms): no ticket, the workgroup's own index, as in an ordinary dispatch.
  let id = select(workgroupUniformLoad(&ticket), wg.x + p.stages[p.stage0].first, p.nowait == 1u);
  var s = p.stage0;
  while (s + 1u < p.nStages && id >= p.stages[s + 1u].first) { s++; }
  let st = p.stages[s];
  let tpr = 256u / st.R;
  let r = lid / tpr;
  let lane = lid % tpr;
  let row = (id - st.first) * st.R + r;
  let live = row < st.rows;
  let base = st.wOff + row * st.words;
${range(MAXW)
  .map(
    (i) => `  var w${i} = vec4<u32>(0u);
  if (live && lane + ${i}u * tpr < st.words) { w${i} = w[base + lane + ${i}u * tpr]; }`,
  )
  .join('\n')}
${inputCode('  ')}
  workgroupBarrier();
${rowCode('w', '  ')}
}`;

// The persistent form: P workgroups, each taking tickets in a loop (one ticket = R rows of one stage), holding the
// next ticket's weights in registers while it computes the current one, and keeping a stage's staged input for all
// of its tickets. A workgroup holds at most three tickets and finishes them in order, so the holder of the lowest
// unfinished ticket is always computing it, and everything it waits for has a lower ticket: no deadlock as long as
// started workgroups keep running.
const loadCode = (prefix: string, t: string) => `  {
    cur = stageOf(${t}, cur);
    let st = p.stages[cur];
    let tpr = 256u / st.R;
    let lane = lid % tpr;
    let row = (${t} - st.first) * st.R + lid / tpr;
    let base = st.wOff + row * st.words;
    let live = ${t} < p.total && row < st.rows;
${range(MAXW)
  .map((i) => `    if (live && lane + ${i}u * tpr < st.words) { ${prefix}${i} = w[base + lane + ${i}u * tpr]; }`)
  .join('\n')}
  }`;
const processCode = (prefix: string, t: string) => `  {
    let s = stageOf(${t}, select(staged, 0u, staged == 0xffffffffu));
    let st = p.stages[s];
    if (s != staged) {
${inputCode('      ')}
      workgroupBarrier();
      staged = s;
    }
    let tpr = 256u / st.R;
    let lane = lid % tpr;
    let row = (${t} - st.first) * st.R + lid / tpr;
    let live = row < st.rows;
${rowCode(prefix, '    ')}
  }`;
const persistentWgsl =
  wgsl.replace(/@compute[\s\S]*$/, '') +
  /* wgsl */ `
// Tickets only grow, so the search starts from the stage last found.
fn stageOf(t: u32, start: u32) -> u32 {
  var s = start;
  while (s + 1u < p.nStages && t >= p.stages[s + 1u].first) { s++; }
  return s;
}
fn take(lid: u32) -> u32 {
  if (lid == 0u) { ticket = atomicAdd(&sync[0], 1u); }
  return workgroupUniformLoad(&ticket);
}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32${sg ? ', @builtin(subgroup_size) sgs: u32' : ''}) {
${range(MAXW)
  .map((i) => `  var a${i} = vec4<u32>(0u);\n  var b${i} = vec4<u32>(0u);`)
  .join('\n')}
  var cur = 0u;
  var t = take(lid);
${loadCode('a', 't')}
  var tn = take(lid);
${loadCode('b', 'tn')}
  var staged = 0xffffffffu;
  loop {
    if (t >= p.total) { break; }
    var pend = 0u;
    if (lid == 0u) { pend = atomicAdd(&sync[0], 1u); }
${processCode('a', 't')}
    if (lid == 0u) { ticket = pend; }
    t = workgroupUniformLoad(&ticket);
${loadCode('a', 't')}
    if (tn >= p.total) { break; }
    if (lid == 0u) { pend = atomicAdd(&sync[0], 1u); }
${processCode('b', 'tn')}
    if (lid == 0u) { ticket = pend; }
    tn = workgroupUniformLoad(&ticket);
${loadCode('b', 'tn')}
  }
}`;
// STATIC=1 (a measurement, not safe): workgroup g takes tickets g, g + P, g + 2P… without the ticket atomic. A
// ticket may then wait for one whose workgroup has not started, so it relies on all P workgroups being resident.
const staticWgsl = persistentWgsl
  .replace(
    'fn main(@builtin(local_invocation_index) lid: u32',
    'fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32',
  )
  .replace('  var t = take(lid);', '  var k = 2u;\n  var t = wg.x;')
  .replace('  var tn = take(lid);', '  var tn = wg.x + nwg.x;')
  .replaceAll('    if (lid == 0u) { pend = atomicAdd(&sync[0], 1u); }\n', '')
  .replace('    if (lid == 0u) { ticket = pend; }\n    t = workgroupUniformLoad(&ticket);', '    t = wg.x + k * nwg.x;\n    k++;')
  .replace('    if (lid == 0u) { ticket = pend; }\n    tn = workgroupUniformLoad(&ticket);', '    tn = wg.x + k * nwg.x;\n    k++;');
const kernel: Kernel = { name: 'chain-gemv', bindings: ['read', 'rw', 'rw'], wgsl };
const { pipeline, layout } = rt.pipeline(kernel);
const persistent = rt.pipeline({
  name: 'chain-gemv-persistent',
  bindings: kernel.bindings,
  wgsl: process.env.STATIC === '1' ? staticWgsl : persistentWgsl,
});
// Persistent workgroups per run (env P, a list).
const PS = (process.env.P ?? (smoke ? '4,16' : '264,396,528,792')).split(',').map(Number);

const stageData = new Uint32Array(stages.length * STAGE_WORDS);
stages.forEach((s, i) => {
  const prev = i > 0 ? stages[i - 1] : null;
  stageData.set(
    [s.first, s.groups, s.R, s.K / 8, s.wOff, s.inOff, s.outOff, s.wait, s.K, s.rows, prev ? prev.groups : 0, 0],
    i * STAGE_WORDS,
  );
});
const wBuf = rt.create(weightBytes, 'weights');
{
  const chunk = new Uint32Array(1 << 22);
  const f = new Float32Array(2);
  const u = new Uint32Array(f.buffer);
  let seed = 7;
  const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 0.05;
  for (let i = 0; i < chunk.length; i++) {
    f[0] = rnd();
    f[1] = rnd();
    chunk[i] = (u[0] >>> 16) | (u[1] & 0xffff0000);
  }
  for (let off = 0; off < weightBytes; off += chunk.byteLength)
    device.queue.writeBuffer(wBuf, off, chunk, 0, Math.min(chunk.length, (weightBytes - off) / 4));
}
const actBuf = rt.create(actWords * 4, 'act', GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC);
{
  const x = new Float32Array(inputWords);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i) + 0.01;
  device.queue.writeBuffer(actBuf, 0, x);
}
const syncBuf = rt.create(4 * (2 + stages.length + 62), 'sync', GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC);
const limit = 1 << 20;
const params = (stage0: number, nowait = 0) => {
  const b = rt.create(32 + 4 * STAGE_WORDS * MAX_STAGES, 'params', GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  device.queue.writeBuffer(b, 0, new Uint32Array([stages.length, stage0, limit, nowait, totalGroups]));
  device.queue.writeBuffer(b, 32, stageData);
  return device.createBindGroup({
    layout,
    entries: [b, wBuf, actBuf, syncBuf].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
};
const binds = stages.map((_, i) => params(i));
const persistentBind = (() => {
  const b = rt.create(32 + 4 * STAGE_WORDS * MAX_STAGES, 'params', GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  device.queue.writeBuffer(b, 0, new Uint32Array([stages.length, 0, limit, 0, totalGroups]));
  device.queue.writeBuffer(b, 32, stageData);
  return device.createBindGroup({
    layout: persistent.layout,
    entries: [b, wBuf, actBuf, syncBuf].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
})();
const nowaitBinds = stages.map((_, i) => params(i, 1));

type Mode = 'separate' | 'chained' | 'per-layer' | `only ${string}` | `persistent ${number}`;
function record(e: GPUCommandEncoder, mode: Mode, timed: boolean) {
  e.clearBuffer(syncBuf);
  e.clearBuffer(actBuf, inputWords * 4);
  const pass = e.beginComputePass(timed ? { timestampWrites: timer.writes(true, true) } : {});
  pass.setPipeline(mode.startsWith('persistent') ? persistent.pipeline : pipeline);
  if (mode.startsWith('persistent ')) {
    pass.setBindGroup(0, persistentBind);
    pass.dispatchWorkgroups(Number(mode.split(' ')[1]));
  } else if (mode === 'chained') {
    pass.setBindGroup(0, binds[0]);
    pass.dispatchWorkgroups(totalGroups);
  } else if (mode === 'separate') {
    // Without tickets or waits: each dispatch's inputs are complete when it starts (as in the engine).
    stages.forEach((s, i) => {
      pass.setBindGroup(0, nowaitBinds[i]);
      pass.dispatchWorkgroups(s.groups);
    });
  } else if (mode.startsWith('only ')) {
    // One kind of GEMV alone, without waiting (inputs are whatever the buffer holds): its time per layer.
    stages.forEach((s, i) => {
      if (mode !== `only ${s.name}`) return;
      pass.setBindGroup(0, nowaitBinds[i]);
      pass.dispatchWorkgroups(s.groups);
    });
  } else {
    for (let l = 0; l < LAYERS; l++) {
      const groups = stages.slice(l * layer.length, (l + 1) * layer.length).reduce((n, s) => n + s.groups, 0);
      pass.setBindGroup(0, binds[l * layer.length]);
      pass.dispatchWorkgroups(groups);
    }
  }
  pass.end();
}
async function readBack(buf: GPUBuffer, offset: number, words: number): Promise<Uint32Array> {
  const read = device.createBuffer({ size: words * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const e = device.createCommandEncoder();
  e.copyBufferToBuffer(buf, offset, read, 0, words * 4);
  device.queue.submit([e.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const out = new Uint32Array(read.getMappedRange().slice(0));
  read.destroy();
  return out;
}
async function run(mode: Mode): Promise<{ out: Uint32Array; sync: Uint32Array }> {
  const e = device.createCommandEncoder();
  record(e, mode, false);
  device.queue.submit([e.finish()]);
  const last = stages[stages.length - 1];
  return { out: await readBack(actBuf, last.outOff * 4, last.rows), sync: await readBack(syncBuf, 0, 2 + stages.length) };
}

const reference = await run('separate');
const modes: Mode[] = ['separate', 'chained', 'per-layer', ...PS.map((n) => `persistent ${n}` as Mode)];
const results: Record<string, unknown>[] = [];
for (const mode of modes) {
  const { out, sync } = await run(mode);
  let same = 0;
  for (let i = 0; i < out.length; i++) if (out[i] === reference.out[i]) same++;
  const done = stages.every((s, i) => sync[2 + i] === s.groups);
  let best = Infinity;
  if (timer.available) {
    for (let k = 0; k < 5; k++) best = Math.min(best, (await timer.ns((e) => record(e, mode, true)))! / 1000);
  }
  const r = {
    mode,
    same_as_separate: `${same}/${out.length}`,
    error_flag: sync[1],
    all_stages_done: done,
    tickets: sync[0],
    us: +best.toFixed(1),
    us_per_layer: +(best / LAYERS).toFixed(2),
    TBps: +(weightBytes / 1e6 / best).toFixed(2),
  };
  results.push(r);
  console.log(JSON.stringify(r));
}
for (const g of layer) {
  const mode: Mode = `only ${g.name}`;
  let best = Infinity;
  for (let k = 0; k < 5; k++) best = Math.min(best, (await timer.ns((e) => record(e, mode, true)))! / 1000);
  const mb = (g.rows * g.K * 2) / 1e6;
  const r = { mode, us_per_layer: +(best / LAYERS).toFixed(2), MB: +mb.toFixed(1), TBps: +((mb * LAYERS) / best).toFixed(2) };
  results.push(r);
  console.log(JSON.stringify(r));
}
const bad = results
  .filter((r) => r.error_flag !== undefined)
  .filter((r) => r.error_flag !== 0 || r.all_stages_done !== true || !String(r.same_as_separate).startsWith(`${reference.out.length}/`));
if (process.env.OUT) (await import('node:fs')).writeFileSync(`${process.env.OUT}/chain-lab.json`, JSON.stringify(results, null, 2));
if (bad.length || gpuErrors) {
  console.error('MISMATCH or error flag:', JSON.stringify(bad));
  process.exit(1);
}
process.exit(0);
