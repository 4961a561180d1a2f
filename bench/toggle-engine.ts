// The engine part of the widget toggles (bench/widgets.ts times them in the browser), in Node through Dawn: the calls
// each toggle makes on the zoo models, warm, median of N. No browser, no rendering: what is left of a toggle's time
// when the page's own work is taken away.
//
//   npx node bench/toggle-engine.ts [--n 5] [--models a,b] [--no-sweeps] [--sequential] [--sweep-n 24,8,16]
//                                   [--label swiftshader] [--json]                                   (SwiftShader)
//   node app.mjs --label h200 --json                                             (bundled, on the H200: docs/performance.md)
//
// The two sweeps (recall lab heads/pairs, head importance) run as the widgets run them: every sequence of the toggle
// through engine/analysis/recall.ts, which batches them into WebGpuEngine.forwardBatch calls (the row says how many
// calls). --sequential adds the same sweeps one forward per sequence (the path before batching) for comparison.
// --sweep-n A,B,C: sequences at 16 pairs, per other curve point, per head-importance run (default 24,8,16, the
// widgets'); smaller ones make a sweep row feasible on SwiftShader, e.g. --sweep-n 2,1,1.
//
// Models: models/ of the repo, or ./models next to the bundled script (the H200 copy). --json writes
// bench/results/widgets-engine-<label>.json and .txt (or $OUT/… when OUT is set, as on the device machine).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../engine/checkpoint/load.ts';
import { folderFiles, nodeGpu } from '../engine/node.ts';
import { WebGpuEngine } from '../engine/webgpu/engine.ts';
import { parseAblation } from '../engine/ablation.ts';
import type { Engine } from '../engine/model.ts';
import {
  ablationSpec,
  evaluatePoints,
  FRESH_SEED,
  freshExamples,
  headImportance,
  mqar128,
  selectiveCopy,
  trainedMode,
  type LayerMode,
} from '../engine/analysis/recall.ts';
import type { HymbaConfig } from '../engine/config.ts';
import { DEFAULT_PROMPT, parsePrompt } from '../site/lib/content/stepper-tokens.ts';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string): string => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const N = Number(arg('--n', '5'));
const label = arg('--label', 'swiftshader');
const here = path.dirname(fileURLToPath(import.meta.url));
const modelsDir = existsSync(path.join(here, 'models', 'hymba')) ? path.join(here, 'models') : path.join(here, '..', 'models');
/** The zoo models the lessons' widgets load (attention: the head-importance comparison). */
const MODELS = arg('--models', 'hymba,parallel-swa-kv,attention,ssm').split(',');
/** What the widgets use: the stepper's taps, the recall lab's curve, its sequences. */
const STEP_TAPS = ['layers.*.attn.probs', 'layers.*.ssm.state'];
const CURVE_PAIRS = [4, 8, 12, 16, 20, 24];
const [LAB_N, CURVE_N, HEAD_N] = arg('--sweep-n', '24,8,16').split(',').map(Number);
if (![LAB_N, CURVE_N, HEAD_N].every((x) => Number.isInteger(x) && x >= 1))
  throw new Error('--sweep-n takes three positive integers, e.g. 24,8,16');

interface Row {
  model: string;
  call: string;
  /** Which widget toggle makes this call. */
  toggle: string;
  n: number;
  median_ms: number;
  max_ms: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** One warm-up call, then `n` timed ones. */
async function time(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  await fn();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

/** The engine without forwardBatch: recall.ts then answers one forward per sequence (the path before batching). */
function oneByOne(engine: Engine): Engine {
  return {
    backend: engine.backend,
    config: engine.config,
    forward: (ids, o) => engine.forward(ids, o),
    steps: (ids, o) => engine.steps(ids, o),
    dispose: () => {},
  };
}

/** The engine with its forwardBatch calls counted (GPU passes: one per call at these sizes, engine.ts MAX_BATCH_ROWS). */
function counted(engine: Engine): { engine: Engine; calls: () => number } {
  let calls = 0;
  const batch = engine.forwardBatch!.bind(engine);
  const wrapped: Engine = {
    ...oneByOne(engine),
    batchHint: engine.batchHint,
    forwardBatch: (items, o) => {
      calls++;
      return batch(items, o);
    },
  };
  return { engine: wrapped, calls: () => calls };
}

/** The recall lab's "attention heads off": every layer keeps only its SSM. */
function attentionOff(c: HymbaConfig): LayerMode[] {
  return c.layers.map((l, i) => (l.hasAttention ? (l.hasSsm ? 'ssm' : 'off') : trainedMode(c, i)));
}

async function benchModel(engine: Engine, name: string, rows: Row[]): Promise<void> {
  const c = engine.config;
  const add = (call: string, toggle: string, samples: number[]) => {
    const row = { model: name, call, toggle, n: samples.length, median_ms: median(samples), max_ms: Math.max(...samples) };
    rows.push(row);
    console.log(`  ${name.padEnd(16)} ${call.padEnd(44)} ${row.median_ms.toFixed(2).padStart(9)} ms (max ${row.max_ms.toFixed(2)})`);
  };
  const ids = Array.from(freshExamples(mqar128(), 16, 1)[0].ids); // a 128-token MQAR prompt
  const offSpec = ablationSpec(c, attentionOff(c));
  const off = parseAblation(offSpec, c);

  add('forward 128, meta on', 'recall lab (per sequence)', await time(N, () => engine.forward(ids)));
  if (c.numMetaTokens > 0) add('forward 128, meta off', 'attention map meta', await time(N, () => engine.forward(ids, { meta: false })));
  if (c.layers.some((l) => l.hasAttention)) {
    add('forward 128 + layers.*.attn.probs', 'attention map', await time(N, () => engine.forward(ids, { taps: ['layers.*.attn.probs'] })));
  }
  if (offSpec) add(`forward 128, ablation ${offSpec}`, 'recall lab heads off', await time(N, () => engine.forward(ids, { ablation: off })));

  // <hymba-attention-map>'s compute: its prompt with probability taps, meta on and off (the compare model's run is
  // that model's row). Its meta / layer / head toggles only redraw.
  const prompt = parsePrompt(DEFAULT_PROMPT, c.vocabSize);
  const hasAttn = c.layers.some((l) => l.hasAttention);
  const stepTaps = STEP_TAPS.filter((t) => (t.includes('attn') ? hasAttn : c.layers.some((l) => l.hasSsm)));
  if (hasAttn)
    add(
      `attention map: ${prompt.length}-token prompt, probs, meta on+off`,
      'attention map model/prompt',
      await time(N, async () => {
        await engine.forward(prompt, { taps: ['layers.*.attn.probs'] });
        if (c.numMetaTokens > 0) await engine.forward(prompt, { meta: false, taps: ['layers.*.attn.probs'] });
      }),
    );

  // <hymba-stepper> layer 0 → 1: run and read every op of layer 0 (the first time; going back is from its history).
  add(
    'stepper: ops up to layers.1, each read back',
    'stepper layer 0→1',
    await time(N, async () => {
      for await (const step of engine.steps(prompt, { taps: stepTaps })) {
        await step.read(step.name);
        if (step.layer === 1) break;
      }
    }),
  );

  // <hymba-cache-meter> "Generate 8 more tokens" from 64: 8 decode steps of a live session.
  const session = await (engine as WebGpuEngine).session?.({ maxContext: Math.min(256, c.maxPositionEmbeddings) });
  if (session) {
    await session.prefill(ids.slice(0, 64));
    const stepTimes: number[] = [];
    const eight = await time(N, async () => {
      for (let i = 0; i < 8; i++) {
        const t0 = performance.now();
        await session.step(3 + (i % 100));
        stepTimes.push(performance.now() - t0);
      }
    });
    add('decode step (context 64..)', 'cache meter (one token)', stepTimes);
    add('8 decode steps', 'cache meter generate', eight);
    session.dispose();
  }

  // --no-sweeps: leave out the sweeps below (on SwiftShader they take minutes at the widgets' sizes).
  if (args.includes('--no-sweeps')) return;
  // <hymba-recall-lab> heads off / pairs: 24 sequences at 16 pairs, then the curve (8 per point; 16 reused), in one
  // evaluatePoints call as the widget makes it.
  const reps = Math.min(N, 3);
  const points = [{ pairs: 16, n: LAB_N }, ...CURVE_PAIRS.filter((p) => p !== 16).map((pairs) => ({ pairs, n: CURVE_N }))];
  const lab = (e: Engine) => evaluatePoints(e, mqar128(), points, { seed: FRESH_SEED, ablation: offSpec });
  const c1 = counted(engine);
  const batched = await time(reps, () => lab(c1.engine));
  const calls = c1.calls() / (reps + 1);
  add(
    `recall lab: ${LAB_N} + 5×${CURVE_N} seqs, batched, ${calls} call${calls === 1 ? '' : 's'} (heads off)`,
    'recall lab heads/pairs',
    batched,
  );
  if (args.includes('--sequential'))
    add(
      `recall lab: ${LAB_N} + 5×${CURVE_N} forwards, one per seq (heads off)`,
      'recall lab (before batching)',
      await time(reps, () => lab(oneByOne(engine))),
    );
}

async function main(): Promise<void> {
  const gpu = await nodeGpu();
  console.log(`adapter: ${JSON.stringify(gpu.adapterInfo)}; models from ${modelsDir}; N = ${N}`);
  const rows: Row[] = [];
  for (const name of MODELS) {
    const engine = await WebGpuEngine.create(gpu, await loadCheckpoint(folderFiles(path.join(modelsDir, name))));
    await benchModel(engine, name, rows);
    // <hymba-head-importance> switching to this model: both tasks, the baseline and one ablated run per branch, 16
    // sequences each. The heaviest toggle; timed for hymba only, once after a warm-up.
    if (name === 'hymba' && !args.includes('--no-sweeps')) {
      const sweep = (e: Engine) => headImportance(e, { tasks: [mqar128(), selectiveCopy()], pairs: 16, n: HEAD_N, seed: FRESH_SEED });
      const c1 = counted(engine);
      const runs: Array<[string, string, Engine]> = [
        [`head importance: sweep (2 tasks × ${HEAD_N} seqs), batched`, 'head importance model', c1.engine],
      ];
      if (args.includes('--sequential'))
        runs.push([
          `head importance: sweep (2 tasks × ${HEAD_N} seqs), one per seq`,
          'head importance (before batching)',
          oneByOne(engine),
        ]);
      for (const [call, toggle, e] of runs) {
        const samples = await time(1, () => sweep(e));
        const label = e === c1.engine ? `${call}, ${c1.calls() / 2} calls` : call;
        rows.push({ model: name, call: label, toggle, n: 1, median_ms: samples[0], max_ms: samples[0] });
        console.log(`  ${name.padEnd(16)} ${label.padEnd(44)} ${samples[0].toFixed(2).padStart(9)} ms`);
      }
    }
    engine.dispose();
  }

  const table = formatTable(rows);
  console.log(`\n${table}`);
  if (args.includes('--json')) {
    const dir = process.env.OUT ?? path.join(here, '..', 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const out = { date: new Date().toISOString(), label, adapter: gpu.adapterInfo, n: N, rows };
    writeFileSync(path.join(dir, `widgets-engine-${label}.json`), JSON.stringify(out, null, 2) + '\n');
    writeFileSync(path.join(dir, `widgets-engine-${label}.txt`), `adapter: ${JSON.stringify(gpu.adapterInfo)}\n${table}\n`);
    console.log(`wrote ${dir}/widgets-engine-${label}.json and .txt`);
  }
  process.exit(0); // Dawn keeps the process alive otherwise
}

function formatTable(rows: Row[]): string {
  const head = ['model', 'engine call', 'toggle', 'n', 'median', 'max'];
  const body = rows.map((r) => [r.model, r.call, r.toggle, String(r.n), `${r.median_ms.toFixed(2)} ms`, `${r.max_ms.toFixed(2)} ms`]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

await main();
