// The full-size benchmark on a real GPU through Dawn (the H200 of the `device` tool; docs/performance.md says how to
// rerun). Bundled into one file by esbuild and run by the carried Node:
//   node app.mjs [--quick]   → prints the table; writes bench.json to $OUT (when set)
// The device (node-device.node.ts benchDevice; DAWN_FLAGS for Dawn toggles) also asks for `timestamp-query` when the
// adapter has it (GPU ms per token).
import { writeFileSync } from 'node:fs';
import { parseConfig } from '../engine/config.ts';
import { getPreset, type HymbaPreset } from '../engine/presets.ts';
import { benchDevice, dawnFlags } from '../engine/webgpu/node-device.node.ts';
import { benchFullSize, formatFullSize, sweepDecodeShapes } from './decode-bench.ts';

const flags = dawnFlags();
const ctx = await benchDevice(['timestamp-query']);
const device = ctx.device;
const limits = Object.fromEntries(
  (['maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize', 'maxStorageBuffersPerShaderStage'] as const).map((k) => [
    k,
    device.limits[k],
  ]),
);
console.log(`adapter: ${JSON.stringify(ctx.adapterInfo)} features: ${[...device.features].join(',')}`);
console.log(`limits: ${JSON.stringify(limits)} dawn flags: ${flags.join(' ') || '(none)'}`);

const quick = process.argv.includes('--quick');
// --smoke: one layer and tiny sizes, to check this script on SwiftShader before spending GPU time.
const smoke = process.argv.includes('--smoke');
const layers = smoke ? 1 : undefined;
const config = parseConfig((getPreset('hymba-1.5b') as HymbaPreset).config);
const out = process.env.OUT;
const steps = Number(process.env.STEPS ?? 256);
const t0 = performance.now();
// SHAPES: [[threads, rows|null, merge?, unroll?, subgroups?, stage?], …] (decode-bench.ts sweepDecodeShapes); the best one is
// benchmarked. STEPS: greedy steps timed per decode figure (default 256: the wall time of a short run includes the
// pipeline's fill, ~0.1 ms/token at 48 steps on the H200; docs/performance.md, run 20).
const shapes: Array<[number, number | undefined, boolean?, number?, boolean?, boolean?]> = JSON.parse(
  process.env.SHAPES ?? '[[256,null],[128,4],[256,8],[64,2],[256,16]]',
).map(([t, r, m, u, g, st]: [number, number | null, boolean?, number?, boolean?, boolean?]) => [
  t,
  r ?? undefined,
  m ?? undefined,
  u ?? undefined,
  g ?? undefined,
  st ?? undefined,
]);
const sweep = await sweepDecodeShapes(ctx, config, {
  layers,
  context: smoke ? 16 : 1024,
  steps: smoke ? 2 : steps,
  shapes: smoke ? shapes.slice(0, 1) : shapes,
});
console.log(`\ndecode @ ${smoke ? 16 : 1024}, GEMV shape sweep (threads, rows/workgroup): ms/token`);
for (const s of sweep)
  console.log(
    `  ${s.threads} threads, ${s.rows ?? 'auto'} rows, unroll ${s.unroll}${s.stage ? '' : ', not staged'}, ${s.merge ? 'merged' : 'apart'}${s.subgroups ? ', subgroups' : ''}: ` +
      `${s.ms_per_token.toFixed(3)} ms/token (GPU ${s.gpu_ms_per_token?.toFixed(3) ?? '—'} ms)`,
  );
const bestShape = sweep.reduce((a, b) => (b.ms_per_token < a.ms_per_token ? b : a));
// Per-kernel GPU time of the first (the reference) and the best shape.
for (const [label, shape] of [
  ['first shape', sweep[0]],
  ['best shape', bestShape],
] as const) {
  if (label === 'best shape' && shape === sweep[0]) break;
  console.log(`GPU ms per token by kernel (timestamps, each dispatch repeated 10× alone; ${label}):`);
  let sum = 0;
  for (const [k, v] of Object.entries(shape.profile)) {
    sum += v.ms;
    console.log(
      `  ${k.padEnd(56)} ×${String(v.count).padStart(3)}  ${v.ms.toFixed(3)} ms  (${((v.ms / v.count) * 1000).toFixed(1)} µs each)`,
    );
  }
  console.log(`  sum ${sum.toFixed(3)} ms`);
}
console.log(`sweep took ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

if (process.argv.includes('--sweep-only')) process.exit(0);
const result = await benchFullSize(ctx, config, {
  layers,
  prefill: smoke ? [8] : quick ? [128, 1024] : [128, 1024, 4096],
  contexts: smoke ? [16] : quick ? [1024] : [1024, 8000],
  steps: smoke ? 2 : steps,
  copyBytes: smoke ? 2 ** 20 : undefined,
  decodeThreads: bestShape.threads,
  decodeRows: bestShape.rows ?? undefined,
  decodeMerge: bestShape.merge,
  decodeUnroll: bestShape.unroll,
  decodeSubgroups: bestShape.subgroups,
  decodeStage: bestShape.stage,
  log: (l) => console.log(`  ${l}`),
});
console.log('\n' + formatFullSize(result));
console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
if (out) writeFileSync(`${out}/bench.json`, JSON.stringify({ sweep, result }, null, 2));
process.exit(0);
