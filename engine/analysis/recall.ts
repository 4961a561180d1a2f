// Measuring recall on a trained model, the same way in the browser widgets and in Node tests:
//  - answer fresh MQAR (or selective-copying) sequences and score every query: accuracy overall, by number of pairs
//    and by key→query distance;
//  - the head-importance study of the Hymba paper (Sec. 2.1, App. C) in miniature: zero one layer's attention
//    branch, then its SSM branch, and measure how much accuracy drops;
//  - the learned fusion gains β1 (attention) and β2 (SSM) per layer (hymba-spec.md §2.7: the two RMSNorm gains);
//  - the cache an ablated configuration really needs, and tokens per second.
// DOM-free and backend-free: it only calls Engine.forward, or Engine.forwardBatch where the engine has it.
//
// Batching (issue #7): a toggle of the recall widgets answers 64–288 sequences of 128 tokens. One forward per
// sequence is one GPU submission and readback each, and that round trip, not the arithmetic, is what a 4-layer
// d = 64 model costs. So every measurement goes through answerExamples(): on an engine with forwardBatch (WebGPU:
// the same kernels over many sequences stacked row-wise, each with its own ablation, see engine/webgpu/engine.ts)
// it sends runs of `batch` sequences per call, and the measurements of one toggle share those runs (a recall-lab
// curve, a head-importance sweep with all its ablations). Any other engine, the CPU reference first of all (the
// oracle the batched path is tested against), answers one sequence per forward as before. Answers are the same.

import type { Engine } from '../model.ts';
import type { HymbaConfig } from '../config.ts';
import { parseAblation, type Ablation } from '../ablation.ts';
import { cacheBytes, qkvConvValues, type CacheBreakdown, type CacheOptions } from '../cache/calculator.ts';
import { Rng } from '../tasks/rng.ts';
import { RecallScore } from '../tasks/distance.ts';
import { MqarTask } from '../tasks/mqar.ts';
import { SelectiveCopyTask } from '../tasks/selective-copy.ts';
import type { Example, Query, Task } from '../tasks/types.ts';

export class RecallAnalysisError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecallAnalysisError';
  }
}

/** Default seed of the fresh evaluation sequences: apart from the training streams and the cards' evaluation seed. */
export const FRESH_SEED = 4_242;

/** The lesson benchmark: MQAR-128 (keys 1..255, values 256..511). */
export const mqar128 = (): MqarTask => new MqarTask();
/** Selective copying as the zoo's vocabulary allows: 16 tokens scattered in 128 positions (vocab 16). */
export const selectiveCopy = (): SelectiveCopyTask => new SelectiveCopyTask();

export interface AnsweredQuery extends Query {
  predicted: number;
  correct: boolean;
}

export interface AnsweredExample {
  ids: number[];
  pairs: number;
  queries: AnsweredQuery[];
}

/**
 * `n` fresh sequences with `pairs` pairs (undefined: the task's own training distribution): the same ones for the
 * same (seed, pairs) in Node and in every browser. `from` skips the first ones of that stream, so a measurement made
 * in rounds (sample-budget.ts) answers sequences 0..k-1, then k..n-1: the same sequences as in one go.
 */
export function freshExamples(task: Task, pairs: number | undefined, n: number, seed = FRESH_SEED, from = 0): Example[] {
  if (!Number.isInteger(n) || n < 1) throw new RecallAnalysisError(`the number of sequences must be a positive integer, got ${n}`);
  if (!Number.isInteger(from) || from < 0) throw new RecallAnalysisError(`the first sequence must be a non-negative integer, got ${from}`);
  const rng = Rng.derive(seed, 104_729 * (pairs ?? 0) + 7);
  return Array.from({ length: from + n }, () => task.sample(rng, pairs)).slice(from);
}

export function checkTask(engine: Engine, task: Task): void {
  const c = engine.config;
  if (c.vocabSize < task.vocabSize) {
    throw new RecallAnalysisError(
      `task ${task.name} uses token ids up to ${task.vocabSize - 1}, but the model's vocabulary has ${c.vocabSize}`,
    );
  }
  if (task.seqLen > c.maxPositionEmbeddings) {
    throw new RecallAnalysisError(`task ${task.name} needs ${task.seqLen} positions, the model takes ${c.maxPositionEmbeddings}`);
  }
}

/** The argmax of one row of logits [n, V] (ties → the lower id). */
function argmaxRow(logits: Float32Array, row: number, V: number): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let v = 0; v < V; v++) {
    const x = logits[row * V + v];
    if (x > bestValue) {
      bestValue = x;
      best = v;
    }
  }
  return best;
}

/** The example answered from logits whose row `rowOf(query index)` belongs to each query. */
function answered(example: Example, logits: Float32Array, V: number, rowOf: (k: number, q: Query) => number): AnsweredExample {
  const queries = example.queries.map((q, k) => {
    const predicted = argmaxRow(logits, rowOf(k, q), V);
    return { ...q, predicted, correct: predicted === q.value };
  });
  return { ids: Array.from(example.ids), pairs: example.pairs, queries };
}

/** One forward pass: the model's answer (argmax) at every query position (meta = false: without the meta tokens). */
export async function answerExample(engine: Engine, example: Example, ablation: Ablation = [], meta = true): Promise<AnsweredExample> {
  const { logits } = await engine.forward(Array.from(example.ids), { ablation, meta });
  return answered(example, logits.data, logits.shape[1], (_, q) => q.pos);
}

/** A sequence to answer and the ablation to answer it under. */
export interface RecallJob {
  example: Example;
  ablation?: Ablation;
}

/** Sequences per forwardBatch call when the engine gives no hint. */
export const DEFAULT_BATCH = 64;

export interface AnswerOptions {
  /** Sequences per forwardBatch call (default: the engine's batchHint, else DEFAULT_BATCH). */
  batch?: number;
  /**
   * The sizes of the first calls (each capped at `batch`), so a slow device shows a first answer soon: [1] answers
   * the first sequence alone, [1, 1] the second alone too. After them, `batch` per call (default: none).
   */
  firstBatches?: readonly number[];
  /** Called for each answered sequence, in job order (batched: a call's worth at a time). */
  onAnswered?: (answered: AnsweredExample, index: number) => void;
  /** Stop early (e.g. the widget's settings changed): checked between calls. */
  signal?: { aborted: boolean };
  /** Prepend the meta tokens (default true; false answers every job without them). */
  meta?: boolean;
}

/**
 * Answer every job: with forwardBatch, runs of up to `batch` consecutive equal-length jobs per call; otherwise one
 * forward per job. Returns the answers in job order (stopped early: the ones answered, a prefix).
 */
export async function answerExamples(engine: Engine, jobs: RecallJob[], o: AnswerOptions = {}): Promise<AnsweredExample[]> {
  const out: AnsweredExample[] = [];
  const done = (a: AnsweredExample) => {
    out.push(a);
    o.onAnswered?.(a, out.length - 1);
  };
  if (!engine.forwardBatch) {
    for (const job of jobs) {
      if (o.signal?.aborted) break;
      done(await answerExample(engine, job.example, job.ablation, o.meta ?? true));
    }
    return out;
  }
  const batch = o.batch ?? engine.batchHint ?? DEFAULT_BATCH;
  if (!Number.isInteger(batch) || batch < 1) throw new RecallAnalysisError(`the batch size must be a positive integer, got ${batch}`);
  const firstBatches = o.firstBatches ?? [];
  for (const n of firstBatches)
    if (!Number.isInteger(n) || n < 1) throw new RecallAnalysisError(`the first batch sizes must be positive integers, got ${n}`);
  for (let at = 0, call = 0; at < jobs.length && !o.signal?.aborted; call++) {
    const length = jobs[at].example.ids.length;
    const limit = Math.min(batch, firstBatches[call] ?? batch);
    let end = at + 1;
    while (end < jobs.length && end - at < limit && jobs[end].example.ids.length === length) end++;
    const run = jobs.slice(at, end);
    const logits = await engine.forwardBatch(
      run.map((j) => ({ ids: Array.from(j.example.ids), positions: j.example.queries.map((q) => q.pos), ablation: j.ablation })),
      { meta: o.meta ?? true },
    );
    run.forEach((j, b) => done(answered(j.example, logits[b].data, logits[b].shape[1], (k) => k)));
    at = end;
  }
  return out;
}

export interface RecallEvaluation {
  pairs: number;
  accuracy: number;
  correct: number;
  total: number;
  byDistance: Record<string, { accuracy: number; queries: number }>;
  examples: AnsweredExample[];
}

export interface EvaluateOptions {
  pairs: number;
  /** Sequences to answer. */
  n: number;
  seed?: number;
  /** An ablation (parsed) or a spec string such as "attn@0,attn@3". */
  ablation?: Ablation | string;
  /** Called after each sequence (the widgets show answers as they arrive). */
  onExample?: (answered: AnsweredExample, index: number) => void;
  /** Stop early (e.g. the widget's settings changed): checked between forward calls. */
  signal?: { aborted: boolean };
  /** Sequences per batched call (answerExamples). */
  batch?: number;
  /** The sizes of the first batched calls (answerExamples). */
  firstBatches?: readonly number[];
}

function toAblation(engine: Engine, a: Ablation | string | undefined): Ablation {
  if (a === undefined) return [];
  return typeof a === 'string' ? parseAblation(a, engine.config) : a;
}

/** Accuracy over every query of `n` fresh sequences, with the by-distance table. */
export async function evaluateRecall(engine: Engine, task: Task, o: EvaluateOptions): Promise<RecallEvaluation> {
  const [r] = await evaluatePoints(engine, task, [{ pairs: o.pairs, n: o.n }], {
    ...o,
    onExample: o.onExample && ((answered, _point, index) => o.onExample!(answered, index)),
  });
  return r;
}

/** The evaluation of the answers to (the first answers.length of) `examples`. */
function evaluation(pairs: number, examples: Example[], answers: AnsweredExample[]): RecallEvaluation {
  const score = new RecallScore();
  answers.forEach((a, i) =>
    score.add(
      examples[i],
      a.queries.map((q) => q.predicted),
    ),
  );
  return {
    pairs,
    accuracy: score.accuracy(),
    correct: score.overall.correct,
    total: score.overall.total,
    byDistance: score.distanceTable(),
    examples: answers,
  };
}

/** One measurement of a curve: `n` fresh sequences with `pairs` pairs (from the `from`-th of their stream on). */
export interface RecallPoint {
  pairs: number;
  n: number;
  from?: number;
}

/**
 * Several measurements under one ablation (a curve over pairs), answered together so that they share batched
 * calls: each point's sequences and result are those of evaluateRecall at that point. Stopped early, a point
 * holds what was answered of it (maybe nothing: total 0, accuracy NaN).
 */
export async function evaluatePoints(
  engine: Engine,
  task: Task,
  points: RecallPoint[],
  o: Omit<EvaluateOptions, 'pairs' | 'n' | 'onExample'> & {
    onExample?: (answered: AnsweredExample, point: number, index: number) => void;
  } = {},
): Promise<RecallEvaluation[]> {
  checkTask(engine, task);
  const ablation = toAblation(engine, o.ablation);
  const sets = points.map((p) => freshExamples(task, p.pairs, p.n, o.seed, p.from));
  const jobs = sets.flatMap((examples) => examples.map((example) => ({ example, ablation })));
  const owner = sets.flatMap((examples, point) => examples.map((_, index) => ({ point, index })));
  const answers = await answerExamples(engine, jobs, {
    batch: o.batch,
    firstBatches: o.firstBatches,
    signal: o.signal,
    onAnswered: o.onExample && ((a, k) => o.onExample!(a, owner[k].point, owner[k].index)),
  });
  let at = 0;
  return points.map((p, k) => {
    const mine = answers.slice(at, at + p.n);
    at += p.n;
    return evaluation(p.pairs, sets[k], mine);
  });
}

export interface PairsPoint {
  pairs: number;
  accuracy: number;
  correct: number;
  total: number;
}

/**
 * The standard error of an accuracy measured on `queries` answers (binomial), for "within sampling error".
 * Queries of one sequence are not independent, so tests use a generous multiple of it.
 */
export function standardError(accuracy: number, queries: number): number {
  return Math.sqrt(Math.max(accuracy * (1 - accuracy), 1 / queries) / queries);
}

// ---------------------------------------------------------------- per-layer head switches

/** What a layer keeps: both branches, only attention, only the SSM, or nothing (the mixer outputs zero). */
export type LayerMode = 'both' | 'attention' | 'ssm' | 'off';
export const LAYER_MODES: readonly LayerMode[] = ['both', 'attention', 'ssm', 'off'];

/** The modes a layer can be switched to: a layer trained with one branch can only keep it or lose it. */
export function modesOf(config: HymbaConfig, layer: number): LayerMode[] {
  const l = config.layers[layer];
  if (l.hasAttention && l.hasSsm) return ['both', 'attention', 'ssm', 'off'];
  if (l.hasAttention) return ['attention', 'off'];
  return ['ssm', 'off'];
}

/** The mode of an untouched layer. */
export function trainedMode(config: HymbaConfig, layer: number): LayerMode {
  return modesOf(config, layer)[0];
}

/** Per-layer modes → an ablation spec ("SSM only" in layer i = attn@i, "attention only" = ssm@i). */
export function ablationSpec(config: HymbaConfig, modes: readonly LayerMode[]): string {
  const items: string[] = [];
  config.layers.forEach((l, i) => {
    const mode = modes[i] ?? trainedMode(config, i);
    if (!modesOf(config, i).includes(mode)) {
      throw new RecallAnalysisError(
        `layer ${i} has ${l.hasAttention ? 'attention' : 'no attention'} and ${l.hasSsm ? 'an SSM' : 'no SSM'}; it cannot be set to "${mode}"`,
      );
    }
    if (l.hasAttention && (mode === 'ssm' || mode === 'off')) items.push(`attn@${i}`);
    if (l.hasSsm && (mode === 'attention' || mode === 'off')) items.push(`ssm@${i}`);
  });
  return items.join(',');
}

/** Parse a compact mode list "both,ssm,both,attention" (a widget attribute); missing entries stay as trained. */
export function parseModes(config: HymbaConfig, text: string): LayerMode[] {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  if (parts.length > config.numLayers)
    throw new RecallAnalysisError(`${parts.length} layer modes given, the model has ${config.numLayers} layers`);
  return config.layers.map((_, i) => {
    const p = parts[i];
    if (p === undefined) return trainedMode(config, i);
    if (!(LAYER_MODES as readonly string[]).includes(p))
      throw new RecallAnalysisError(`layer mode "${p}" is not one of ${LAYER_MODES.join(', ')}`);
    if (!modesOf(config, i).includes(p as LayerMode))
      throw new RecallAnalysisError(`layer ${i} cannot be set to "${p}" (it can be: ${modesOf(config, i).join(', ')})`);
    return p as LayerMode;
  });
}

/**
 * The valid modes nearest to `text` for this model, and what had to change: entries past the last layer are dropped,
 * and an unknown mode or one the layer cannot take (e.g. "attention" on an SSM-only layer) goes back to the layer's
 * trained mode. For a widget, whose modes may have been set for another model: it never throws (parseModes does).
 */
export function repairModes(config: HymbaConfig, text: string): { modes: LayerMode[]; problems: string[] } {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  const problems: string[] = [];
  if (parts.length > config.numLayers) problems.push(`${parts.length} layer modes given, the model has ${config.numLayers} layers`);
  const modes = config.layers.map((l, i) => {
    const p = parts[i];
    const trained = trainedMode(config, i);
    if (p === undefined || (modesOf(config, i) as readonly string[]).includes(p)) return (p ?? trained) as LayerMode;
    const why = (LAYER_MODES as readonly string[]).includes(p)
      ? `layer ${i} has ${l.hasAttention ? 'attention' : 'no attention'} and ${l.hasSsm ? 'an SSM' : 'no SSM'}, so it cannot be “${p}”`
      : `layer ${i}: “${p.slice(0, 20)}” is not one of ${LAYER_MODES.join(', ')}`;
    problems.push(`${why}; it is back to “${trained}”`);
    return trained;
  });
  return { modes, problems };
}

/** The compact text of per-layer modes: empty when every layer is as trained (the attribute's default). */
export function modesText(config: HymbaConfig, modes: readonly LayerMode[]): string {
  return config.layers.every((_, i) => modes[i] === trainedMode(config, i)) ? '' : modes.join(',');
}

/**
 * The cache the switched configuration really needs: a layer whose attention is off computes no K/V — unless a
 * layer that still attends reads its K/V (cross-layer sharing), then its K/V are still computed and cached. A layer
 * whose SSM is off keeps no conv or SSM state. (The trained model, unchanged, would still allocate all of it.)
 */
export function effectiveCache(config: HymbaConfig, modes: readonly LayerMode[], opts: CacheOptions): CacheBreakdown {
  const full = cacheBytes(config, opts);
  const attends = (i: number) => config.layers[i].hasAttention && (modes[i] === 'both' || modes[i] === 'attention');
  const keepsSsm = (i: number) => config.layers[i].hasSsm && (modes[i] === 'both' || modes[i] === 'ssm');
  const stateBytes = full.state_dtype === 'f32' ? 4 : 2;
  const layers = full.layers.map((l) => {
    const kvNeeded = config.layers.some((m) => m.kvSource === l.layer && attends(m.index));
    // conv_state_bytes holds the SSM conv state and, with lab_qkv_conv, the Q/K/V conv state: each goes with its branch.
    const qkv = qkvConvValues(config.layers[l.layer]) * stateBytes;
    return {
      ...l,
      kv_entries: kvNeeded ? l.kv_entries : 0,
      kv_bytes: kvNeeded ? l.kv_bytes : 0,
      conv_state_bytes: (keepsSsm(l.layer) ? l.conv_state_bytes - qkv : 0) + (attends(l.layer) ? qkv : 0),
      ssm_state_bytes: keepsSsm(l.layer) ? l.ssm_state_bytes : 0,
    };
  });
  const sum = (k: 'kv_bytes' | 'conv_state_bytes' | 'ssm_state_bytes') => layers.reduce((s, l) => s + l[k], 0);
  const kv = sum('kv_bytes');
  const conv = sum('conv_state_bytes');
  const ssm = sum('ssm_state_bytes');
  return { ...full, layers, kv_bytes: kv, conv_state_bytes: conv, ssm_state_bytes: ssm, total_bytes: kv + conv + ssm };
}

// ---------------------------------------------------------------- head importance

export type Branch = 'attn' | 'ssm';

export interface ImportanceCell {
  layer: number;
  branch: Branch;
  task: string;
  /** Accuracy of the intact model and with this branch removed (β zeroed). */
  baseline: number;
  ablated: number;
  /** baseline − ablated (positive: the branch mattered). */
  drop: number;
  /** The answers each accuracy is measured on (queries of `sequences` sequences). */
  queries: number;
  sequences: number;
}

/** Two measurements of one cell on different sequences (two rounds) as one: accuracies weighted by their answers. */
export function mergeCells(a: ImportanceCell, b: ImportanceCell): ImportanceCell {
  if (a.task !== b.task || a.layer !== b.layer || a.branch !== b.branch)
    throw new RecallAnalysisError(`cannot merge ${a.task}:${a.branch}@${a.layer} with ${b.task}:${b.branch}@${b.layer}`);
  const queries = a.queries + b.queries;
  const mean = (x: number, y: number) => (x * a.queries + y * b.queries) / queries;
  const baseline = mean(a.baseline, b.baseline);
  const ablated = mean(a.ablated, b.ablated);
  return { ...a, baseline, ablated, drop: baseline - ablated, queries, sequences: a.sequences + b.sequences };
}

export interface ImportanceOptions {
  tasks: Task[];
  /** MQAR pairs (ignored by copying, which has a fixed count). */
  pairs?: number;
  n: number;
  /** The first of the fresh sequences (a later round of a measurement, see mergeCells). */
  from?: number;
  seed?: number;
  onCell?: (cell: ImportanceCell) => void;
  /** After each batched call: sequences answered so far, of all the runs' sequences. */
  onProgress?: (done: number, total: number) => void;
  signal?: { aborted: boolean };
  /** Sequences per batched call (answerExamples). */
  batch?: number;
  /**
   * The sizes of the first batched calls: [1, 1] answers the intact run's first sequence alone (onBaseline: the
   * figure's first number) and then the first removal's (the first cell: n = 1) before batching the rest.
   */
  firstBatches?: readonly number[];
  /** The intact model's accuracy on a task, as soon as its run is answered (before the task's cells). */
  onBaseline?: (task: string, accuracy: number, sequences: number) => void;
}

/** How many items a task's examples have at evaluation (MQAR: pairs; copying: its token count). */
function evalCount(task: Task, pairs: number | undefined): number {
  if (task instanceof SelectiveCopyTask) return task.tokens;
  return pairs ?? 16;
}

/**
 * Remove each layer's attention branch, then its SSM branch, and measure the accuracy drop on each task. Every run
 * (per task: the intact model, then one per removed branch, on the same `n` sequences) goes into one answerExamples
 * call, so runs share batched calls; cells arrive in that order as soon as their run is answered.
 */
export async function headImportance(engine: Engine, o: ImportanceOptions): Promise<ImportanceCell[]> {
  for (const task of o.tasks) checkTask(engine, task);
  interface Run {
    task: Task;
    pairs: number;
    examples: Example[];
    /** null: the intact model (the baseline of the runs after it). */
    removed: { layer: number; branch: Branch } | null;
  }
  const runs: Run[] = [];
  for (const task of o.tasks) {
    const pairs = evalCount(task, o.pairs);
    const examples = freshExamples(task, pairs, o.n, o.seed, o.from);
    runs.push({ task, pairs, examples, removed: null });
    for (const l of engine.config.layers)
      for (const branch of ['attn', 'ssm'] as const)
        if (branch === 'attn' ? l.hasAttention : l.hasSsm) runs.push({ task, pairs, examples, removed: { layer: l.index, branch } });
  }
  const jobs = runs.flatMap((r) =>
    r.examples.map((example) => ({
      example,
      ablation: r.removed ? [{ branch: r.removed.branch, layer: r.removed.layer, unit: null }] : [],
    })),
  );
  const cells: ImportanceCell[] = [];
  let baseline = NaN;
  const answers: AnsweredExample[] = [];
  await answerExamples(engine, jobs, {
    batch: o.batch,
    firstBatches: o.firstBatches,
    signal: o.signal,
    onAnswered: (a) => {
      answers.push(a);
      o.onProgress?.(answers.length, jobs.length);
      if (answers.length % o.n !== 0) return;
      const run = runs[answers.length / o.n - 1];
      const scored = evaluation(run.pairs, run.examples, answers.slice(-o.n));
      if (!run.removed) {
        baseline = scored.accuracy;
        o.onBaseline?.(run.task.name, baseline, o.n);
        return;
      }
      const accuracy = scored.accuracy;
      const cell = {
        ...run.removed,
        task: run.task.name,
        baseline,
        ablated: accuracy,
        drop: baseline - accuracy,
        queries: scored.total,
        sequences: o.n,
      };
      cells.push(cell);
      o.onCell?.(cell);
    },
  });
  return cells;
}

export interface LayerGains {
  layer: number;
  /** Mean |β1| (attention branch gain) and mean |β2| (SSM branch gain); null where the layer lacks the branch. */
  attn: number | null;
  ssm: number | null;
}

/**
 * The learned fusion gains per layer, from the weights `model.layers.i.mamba.pre_avg_layernorm1/2.weight`
 * (hymba-spec.md §2.7: β1, β2 are these RMSNorm gains). `weight(name)` returns a tensor's float32 values.
 */
export function betaGains(config: HymbaConfig, weight: (name: string) => Float32Array | undefined): LayerGains[] {
  const meanAbs = (w: Float32Array | undefined) => (w ? w.reduce((s, x) => s + Math.abs(x), 0) / w.length : null);
  return config.layers.map((l) => ({
    layer: l.index,
    attn: l.hasAttention ? meanAbs(weight(`model.layers.${l.index}.mamba.pre_avg_layernorm1.weight`)) : null,
    ssm: l.hasSsm ? meanAbs(weight(`model.layers.${l.index}.mamba.pre_avg_layernorm2.weight`)) : null,
  }));
}

// ---------------------------------------------------------------- speed

/**
 * Prefill tokens per second: forward passes over `ids` until `minMs` have passed (at least `minRuns`), after one
 * warm-up pass (pipelines compile on first use). Wall-clock, so it measures this machine and this backend.
 */
export async function tokensPerSecond(
  engine: Engine,
  ids: number[],
  o: { minMs?: number; minRuns?: number; now?: () => number } = {},
): Promise<number> {
  const now = o.now ?? (() => performance.now());
  await engine.forward(ids);
  const minMs = o.minMs ?? 300;
  const minRuns = o.minRuns ?? 2;
  let runs = 0;
  const t0 = now();
  while (runs < minRuns || now() - t0 < minMs) {
    await engine.forward(ids);
    runs++;
  }
  return (runs * ids.length) / ((now() - t0) / 1000);
}
