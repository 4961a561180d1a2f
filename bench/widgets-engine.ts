// The engine part of `npm run bench:widgets` (`node --no-warnings bench/widgets.ts --engine-only`): the heavy
// experiments as their widgets run them — measureInRounds sized to the device, the same engine calls, budgets and
// first batches — in Node through Dawn, without a browser or dist/. Per experiment: the time to the first result the
// widget would show and to its final result, cold (a fresh engine: the first call compiles its pipelines, as on a
// reader's first visit), and the sequences the figure rests on. On SwiftShader here, or bundled on the GPU machine:
//   npx esbuild bench/widgets.ts --bundle --platform=node --format=esm --external:webgpu --external:playwright-core \
//     --outfile=.devcarry/widgets.mjs   then   node .devcarry/widgets.mjs --engine-only   (models/ next to it or above)
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../engine/checkpoint/load.ts';
import { folderFiles, nodeGpu } from '../engine/node.ts';
import { WebGpuEngine } from '../engine/webgpu/engine.ts';
import {
  evaluatePoints,
  FRESH_SEED,
  headImportance,
  mergeCells,
  mqar128,
  selectiveCopy,
  type ImportanceCell,
} from '../engine/analysis/recall.ts';
import { measureInRounds, sequencesWithin } from '../engine/analysis/sample-budget.ts';
import { TrainSession } from '../engine/train/train-session.ts';
import { MqarTask } from '../engine/tasks/mqar.ts';
import { parseConfig } from '../engine/config.ts';
import type { Engine } from '../engine/model.ts';
import type { GpuContext } from '../engine/webgpu/device.ts';

export interface EngineRow {
  widget: string;
  experiment: string;
  first: string;
  first_ms: number;
  final_ms: number;
  /** What the final figure rests on. */
  basis: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const modelsDir = [path.join(here, 'models'), path.join(here, '..', 'models')].find((d) => existsSync(path.join(d, 'hymba')));

async function open(gpu: GpuContext, name: string): Promise<Engine> {
  if (!modelsDir) throw new Error(`no models/hymba next to ${here} or above it: the engine bench needs the trained zoo`);
  return WebGpuEngine.create(gpu, await loadCheckpoint(folderFiles(path.join(modelsDir, name))));
}

/**
 * <hymba-head-importance> on lesson 6's settings (hymba, selective copying, 16 pairs, at most 16 sequences, budget
 * 30 s). Cold: a fresh engine, as on a reader's first visit. A toggle (the reader picks another task): the same
 * engine, its pipelines compiled, as the widget's model cache keeps it.
 */
async function headImportanceRows(gpu: GpuContext, engine: Engine | null, task: 'copy' | 'mqar', label: string): Promise<EngineRow[]> {
  const t0 = performance.now();
  const e = engine ?? (await open(gpu, 'hymba'));
  let first = NaN;
  let intact = NaN;
  const cells = new Map<string, ImportanceCell>();
  const n = await measureInRounds({ max: 16, ms: 30_000 }, async (from, n) => {
    const before = new Map(cells);
    await headImportance(e, {
      tasks: [task === 'copy' ? selectiveCopy() : mqar128()],
      pairs: 16,
      n,
      from,
      seed: FRESH_SEED,
      firstBatches: from === 0 ? [1, 1] : undefined,
      onBaseline: () => {
        intact = Number.isNaN(intact) ? performance.now() - t0 : intact;
      },
      onCell: (c) => {
        first = Number.isNaN(first) ? performance.now() - t0 : first;
        const key = `${c.task}:${c.branch}@${c.layer}`;
        const old = before.get(key);
        cells.set(key, old ? mergeCells(old, c) : c);
      },
    });
  });
  if (!engine) e.dispose();
  const final = performance.now() - t0;
  return [
    // What the widget shows first: the intact model's accuracy on one sequence ("on 1 sequence so far").
    {
      widget: 'hymba-head-importance',
      experiment: label,
      first: 'intact accuracy',
      first_ms: intact,
      final_ms: final,
      basis: '1 sequence',
    },
    {
      widget: 'hymba-head-importance',
      experiment: label,
      first: 'first cell',
      first_ms: first,
      final_ms: final,
      basis: `${n} ${n === 1 ? 'sequence' : 'sequences'} per cell (${cells.size} cells)`,
    },
  ];
}

/** Lesson 5's recall lab model. */
const RECALL_LAB_MODEL = 'hymba-conv';

/** <hymba-recall-lab>: its first measurement (as trained, 16 pairs, 24 + 5 curve points × 8, budget 8 s, pilot 3). */
async function recallLabRow(gpu: GpuContext, ablation: string, label: string, engine?: Engine): Promise<EngineRow> {
  const t0 = performance.now();
  const e = engine ?? (await open(gpu, RECALL_LAB_MODEL));
  const [max, curve, pairs] = [24, 8, 16];
  const curvePairs = [4, 8, 12, 20, 24];
  const share = (k: number) => Math.ceil((k * curve) / max);
  let first = NaN;
  let answered = 0;
  const n = await measureInRounds({ max, ms: 8_000, pilot: 3 }, async (from, n) => {
    const points = [{ pairs, n, from }];
    const [cf, ct] = [share(from), share(from + n)];
    if (ct > cf) for (const p of curvePairs) points.push({ pairs: p, n: ct - cf, from: cf });
    await evaluatePoints(e, mqar128(), points, {
      seed: FRESH_SEED,
      ablation,
      firstBatches: from === 0 ? [1] : undefined,
      onExample: (_a, point) => {
        if (point === 0) answered++;
        first = Number.isNaN(first) ? performance.now() - t0 : first;
      },
    });
  });
  return {
    widget: 'hymba-recall-lab',
    experiment: label,
    first: 'first answer',
    first_ms: first,
    final_ms: performance.now() - t0,
    basis: `${n} sequences at 16 pairs (${answered} answered) + ${share(n)} per curve point`,
  };
}

/** <hymba-roadmap>: seven models, a first pass of 2 sequences each (timed), then each topped up to its budget share. */
async function roadmapRow(gpu: GpuContext): Promise<EngineRow> {
  const models = ['attention', 'ssm', 'sequential', 'parallel', 'parallel-swa', 'parallel-swa-kv', 'hymba'];
  const t0 = performance.now();
  let first = NaN;
  const engines: Array<{ e: Engine; msPerSequence: number }> = [];
  for (const name of models) {
    const e = await open(gpu, name);
    const t = performance.now();
    await evaluatePoints(e, mqar128(), [{ pairs: 16, n: 2 }], { seed: FRESH_SEED });
    engines.push({ e, msPerSequence: (performance.now() - t) / 2 });
    first = Number.isNaN(first) ? performance.now() - t0 : first;
  }
  const plan = engines.map((x) => sequencesWithin({ max: 32, ms: 30_000 / models.length, pilot: 2 }, x.msPerSequence));
  for (const [i, x] of engines.entries()) {
    if (plan[i] > 2) await evaluatePoints(x.e, mqar128(), [{ pairs: 16, n: plan[i] - 2, from: 2 }], { seed: FRESH_SEED });
    x.e.dispose();
  }
  return {
    widget: 'hymba-roadmap',
    experiment: 'lesson 7: 7 models (speed runs left out)',
    first: 'first row',
    first_ms: first,
    final_ms: performance.now() - t0,
    basis: `${Math.min(...plan)}–${Math.max(...plan)} sequences per model`,
  };
}

/**
 * <hymba-train-lab>: building the graph, then what the widget shows first, step 1's loss from its forward alone
 * (TrainSession.initialLoss, before the update), then the first step, of the lesson's run (hymba, batch `batch`).
 */
async function trainRow(gpu: GpuContext, batch: number, label: string): Promise<EngineRow> {
  if (!modelsDir) throw new Error('no models/ for the train lab recipe');
  const { readFileSync } = await import('node:fs');
  const raw = JSON.parse(readFileSync(path.join(modelsDir, 'hymba', 'config.json'), 'utf8')) as Record<string, unknown>;
  const t0 = performance.now();
  const session = await TrainSession.create(gpu.device, parseConfig(raw), new MqarTask({ seqLen: 128, pairs: [4, 24] }), {
    steps: 1000,
    batch,
    lr: 0.003,
    seed: 1,
  });
  await session.initialLoss();
  const initial = performance.now() - t0;
  await session.advance(1);
  const first = performance.now() - t0;
  await session.advance(4);
  const perStep = (performance.now() - t0 - first) / 4;
  session.dispose();
  return {
    widget: 'hymba-train-lab',
    experiment: `${label}, batch ${batch}`,
    first: 'initial loss',
    first_ms: initial,
    final_ms: first + perStep * 999,
    basis: `first step done at ${Math.round(first)} ms; final = 1000 steps at ${perStep.toFixed(1)} ms/step (from steps 2–5)`,
  };
}

export async function runEngineBench(args: string[]): Promise<{ adapter: unknown; rows: EngineRow[] }> {
  const gpu = await nodeGpu();
  console.log(`engine only, in Node through Dawn; adapter: ${JSON.stringify(gpu.adapterInfo)}; models from ${modelsDir}`);
  const trainBatch = args.includes('--train-batch') ? Number(args[args.indexOf('--train-batch') + 1]) : 32;
  const rows: EngineRow[] = [];
  const add = (r: EngineRow) => {
    rows.push(r);
    console.log(`  ${r.widget} ${r.experiment}: ${r.first} ${Math.round(r.first_ms)} ms, final ${Math.round(r.final_ms)} ms (${r.basis})`);
  };
  for (const r of await headImportanceRows(gpu, null, 'copy', 'lesson 6: hymba, copying (cold)')) add(r);
  const hymba = await open(gpu, 'hymba');
  await evaluatePoints(hymba, selectiveCopy(), [{ pairs: 16, n: 1 }]); // compile, as the lesson's first run did
  for (const r of await headImportanceRows(gpu, hymba, 'mqar', 'toggle: task → MQAR (warm)')) add(r);
  hymba.dispose();
  add(await recallLabRow(gpu, '', `lesson 5: ${RECALL_LAB_MODEL}, as trained (cold)`));
  const warm = await open(gpu, RECALL_LAB_MODEL);
  await evaluatePoints(warm, mqar128(), [{ pairs: 16, n: 1 }]); // compile, as the widget's first measurement did
  add(await recallLabRow(gpu, 'attn@0,attn@1,attn@2,attn@3', 'toggle: attention heads off (warm)', warm));
  warm.dispose();
  add(await roadmapRow(gpu));
  if (!args.includes('--no-train')) {
    add(await trainRow(gpu, trainBatch, 'lesson 7: hymba (cold)'));
    // The reader's next run (Train again, or another setting): a new session on the same device.
    add(await trainRow(gpu, trainBatch, 'toggle: a new run (warm)'));
  }
  return { adapter: gpu.adapterInfo, rows };
}

/** Rows of text cells as a plain table: columns padded to their widest cell, a rule under the header. */
export function textTable(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

export function formatEngineTable(rows: EngineRow[]): string {
  const fmt = (x: number) => (!Number.isFinite(x) ? '–' : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(1)} ms`);
  const head = ['widget', 'experiment', 'first result', 'first', 'final', 'final figure rests on'];
  const body = rows.map((r) => [r.widget, r.experiment, r.first, fmt(r.first_ms), fmt(r.final_ms), r.basis]);
  return textTable(head, body);
}
