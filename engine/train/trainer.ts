// Training runs and the measurements behind a model card (browser-safe: no Node APIs).
//
// Recipe (shared/notes/recall-lessons.md §1.2): AdamW (weight decay 0.1, β = (0.9, 0.98)), linear warmup over the
// first 5 % of steps multiplied by a cosine decay to 0 over the whole run, gradient clipping at global norm 1,
// fresh examples every step from a seeded stream. Evaluation uses separate seeds (fresh sequences).

import type { HymbaConfig } from '../config.ts';
import type { Engine } from '../model.ts';
import { Rng } from '../tasks/rng.ts';
import { RecallScore } from '../tasks/distance.ts';
import type { Example, Task } from '../tasks/types.ts';
import { TrainGraph, type GraphBatch } from './graph.ts';
import { initParams, type InitSpread } from './params.ts';
import type { KernelProfile } from '../webgpu/runtime.ts';

export interface TrainSettings {
  steps: number;
  batch: number;
  lr: number;
  seed: number;
  warmup?: number;
  weightDecay?: number;
  betas?: [number, number];
  clip?: number;
  /** Read the loss back (a sync point) every this many steps. */
  logEvery?: number;
  /** Measure recall every this many steps (0 = never) at evalPairs on evalN fresh examples. */
  evalEvery?: number;
  evalPairs?: number;
  evalN?: number;
  /** The task those evaluations sample (default: the training task; a mixture names one of its members). */
  evalTask?: Task;
  /** Fixed held-out examples (e.g. the English validation windows): their mean loss joins the curve at evalEvery. */
  validation?: Example[];
  /** Measure recall at evalEvery (default true; false for tasks without queries, such as language modelling). */
  evalRecall?: boolean;
  /** Initial spreads (params.ts); GPT-2's 0.02 everywhere when absent. */
  init?: InitSpread;
  /** Kernel variants (see GraphOptions): kernelProfileOf(adapterInfo), 'cpu-like' on CPU rasterisers such as SwiftShader. */
  kernels?: KernelProfile;
  /** Hand a checkpoint to train()'s onCheckpoint every this many steps (0 = never). */
  checkpointEvery?: number;
  /** Continue from this checkpoint (taken with the same config, task and settings) instead of starting afresh. */
  resume?: TrainCheckpoint;
}

/**
 * Everything a run needs to continue as if it had never stopped: the parameters, AdamW's moments, the data
 * stream's Rng state and the step count (the learning rate and Adam's bias correction follow from the step).
 * The task must be stateless apart from the Rng it is handed (every engine/tasks task is).
 */
export interface TrainCheckpoint {
  /** The run it belongs to; resume refuses another. */
  run: { steps: number; batch: number; lr: number; seed: number };
  /** Steps done. */
  step: number;
  params: Float32Array;
  adamM: Float32Array;
  adamV: Float32Array;
  dataRng: number;
  /** Losses of steps 0..step−1. */
  losses: Float32Array;
  curve: TrainRun['curve'];
  trainSeconds: number;
}

export interface Progress {
  step: number;
  steps: number;
  loss: number;
  stepsPerSecond: number;
}

export interface TrainRun {
  params: Float32Array;
  losses: Float32Array;
  /** Seconds spent in training steps (periodic evaluations excluded). */
  trainSeconds: number;
  stepsPerSecond: number;
  dispatchesPerStep: number;
  /** Recall measured during training: step, training seconds so far, accuracy. */
  /** accuracy is NaN where recall was not measured (evalRecall false); valLoss is there when validation was given. */
  curve: Array<{ step: number; seconds: number; accuracy: number; valLoss?: number }>;
  graph: TrainGraph;
}

export class TrainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainError';
  }
}

/** A loss that is NaN or ±Inf: the parameters are ruined, so the run stops (and nothing gets written from it). */
function stopNonFinite(graph: TrainGraph, step: number, loss: number): never {
  graph.dispose();
  throw new TrainError(
    `the loss became ${loss} at step ${step + 1}: training diverged, so no model is written (try a lower --lr or more warmup)`,
  );
}

/** Learning rate at a step: linear warmup × cosine to zero (the notes' LambdaLR). */
export function learningRate(step: number, steps: number, peak: number, warmupFraction = 0.05): number {
  const warm = Math.max(1, Math.round(steps * warmupFraction));
  return peak * Math.min(1, (step + 1) / warm) * 0.5 * (1 + Math.cos((Math.PI * Math.min(step, steps)) / steps));
}

/** Examples → the graph's flat batch (rows in position order, the order of Example.queries). */
export function toGraphBatch(examples: Example[], numMeta: number): GraphBatch {
  const L = examples[0].ids.length;
  const N = numMeta + L;
  const ids = new Uint32Array(examples.length * L);
  const rows: number[] = [];
  const labels: number[] = [];
  examples.forEach((ex, b) => {
    if (ex.ids.length !== L) throw new TrainError(`example ${b} has ${ex.ids.length} tokens, the batch ${L}`);
    ids.set(ex.ids, b * L);
    for (let t = 0; t < L; t++) {
      if (ex.targets[t] < 0) continue;
      rows.push(b * N + numMeta + t);
      labels.push(ex.targets[t]);
    }
  });
  return { ids, rows: Uint32Array.from(rows), labels: Uint32Array.from(labels) };
}

function validate(config: HymbaConfig, task: Task, s: TrainSettings): void {
  if (!Number.isInteger(s.steps) || s.steps < 1) throw new TrainError(`steps must be a positive integer, got ${s.steps}`);
  if (!Number.isInteger(s.batch) || s.batch < 1) throw new TrainError(`batch must be a positive integer, got ${s.batch}`);
  if (!(s.lr > 0)) throw new TrainError(`lr must be > 0, got ${s.lr}`);
  if (config.vocabSize < task.vocabSize)
    throw new TrainError(`the task uses ${task.vocabSize} token ids but the model's vocab_size is ${config.vocabSize}`);
  if (task.seqLen > config.maxPositionEmbeddings)
    throw new TrainError(`the task's ${task.seqLen} tokens exceed max_position_embeddings ${config.maxPositionEmbeddings}`);
}

/**
 * Validate the settings, build the training graph on `device` and initialise its parameters from the seed: the
 * setup of train() and of the pausable TrainSession (train-session.ts), so both compute the same run (a resumed
 * train() then loads the checkpoint's parameters and optimiser state over them).
 */
export async function openTrainGraph(
  device: GPUDevice,
  config: HymbaConfig,
  task: Task,
  s: TrainSettings,
  /** false: no trial forward pass (the caller's first forward, checked, does that; TrainSession.initialLoss). */
  trial = true,
): Promise<TrainGraph> {
  validate(config, task, s);
  const graph = new TrainGraph(
    device,
    config,
    {
      batch: s.batch,
      seqLen: task.seqLen,
      maxTargets: s.batch * task.maxTargets,
      weightDecay: s.weightDecay ?? 0.1,
      betas: s.betas ?? [0.9, 0.98],
      clip: s.clip ?? 1,
      kernels: s.kernels,
    },
    s.steps + 1,
  );
  try {
    if (trial) await graph.validate();
    await graph.setParams(initParams(config, Rng.derive(s.seed, 0), s.init));
  } catch (e) {
    graph.dispose();
    throw e;
  }
  return graph;
}

/** Step `step` of a run: the next batch from the data stream `data` (Rng.derive(seed, 1)), one optimiser step. */
export function trainStep(graph: TrainGraph, config: HymbaConfig, task: Task, s: TrainSettings, data: Rng, step: number): void {
  graph.step(step, stepBatch(graph, config, task, s, data, step));
}

/** Upload step `step`'s batch (the next of the data stream `data`); returns the step's learning rate. */
export function stepBatch(graph: TrainGraph, config: HymbaConfig, task: Task, s: TrainSettings, data: Rng, step: number): number {
  const examples = Array.from({ length: s.batch }, () => task.sample(data));
  graph.setBatch(toGraphBatch(examples, config.numMetaTokens));
  return learningRate(step, s.steps, s.lr, s.warmup);
}

export async function train(
  device: GPUDevice,
  config: HymbaConfig,
  task: Task,
  s: TrainSettings,
  onProgress?: (p: Progress) => void,
  onCheckpoint?: (c: TrainCheckpoint) => Promise<void>,
): Promise<TrainRun> {
  const ck = s.resume;
  const runId = { steps: s.steps, batch: s.batch, lr: s.lr, seed: s.seed };
  if (ck && JSON.stringify(ck.run) !== JSON.stringify(runId))
    throw new TrainError(`the checkpoint belongs to run ${JSON.stringify(ck.run)}, not ${JSON.stringify(runId)}`);
  if (ck && !(ck.step >= 1 && ck.step < s.steps))
    throw new TrainError(`a checkpoint at step ${ck.step} cannot resume a ${s.steps}-step run`);
  const graph = await openTrainGraph(device, config, task, s);
  const data = Rng.derive(s.seed, 1);
  const curve: TrainRun['curve'] = ck ? ck.curve.slice() : [];
  if (ck) {
    await graph.setParams(ck.params);
    graph.setOptimizerState(ck.adamM, ck.adamV);
    device.queue.writeBuffer(graph.history, 0, ck.losses);
    data.restore(ck.dataRng);
  }
  const logEvery = s.logEvery ?? 100;
  let trainMs = ck ? ck.trainSeconds * 1000 : 0;
  let t0 = performance.now();
  for (let step = ck ? ck.step : 0; step < s.steps; step++) {
    trainStep(graph, config, task, s, data, step);
    const last = step === s.steps - 1;
    if ((step + 1) % logEvery === 0 || last) {
      const [loss] = await graph.readLosses(step, step + 1); // waits for the GPU: the clock below is honest
      if (!Number.isFinite(loss)) stopNonFinite(graph, step, loss);
      const now = performance.now();
      onProgress?.({ step: step + 1, steps: s.steps, loss, stepsPerSecond: (step + 1) / ((trainMs + now - t0) / 1000) });
    }
    if (s.evalEvery && ((step + 1) % s.evalEvery === 0 || last)) {
      await graph.readLosses(step, step + 1);
      trainMs += performance.now() - t0;
      const accuracy =
        s.evalRecall === false
          ? NaN
          : (await graphRecall(graph, s.evalTask ?? task, s.evalPairs ?? 16, s.evalN ?? 256, s.steps)).accuracy();
      const point: TrainRun['curve'][number] = { step: step + 1, seconds: trainMs / 1000, accuracy };
      if (s.validation) point.valLoss = await graphLoss(graph, s.validation, s.steps);
      curve.push(point);
      t0 = performance.now();
    }
    if (onCheckpoint && s.checkpointEvery && (step + 1) % s.checkpointEvery === 0 && !last) {
      const { m, v } = await graph.readOptimizerState();
      trainMs += performance.now() - t0;
      await onCheckpoint({
        run: runId,
        step: step + 1,
        params: await graph.readParams(),
        adamM: m,
        adamV: v,
        dataRng: data.snapshot(),
        losses: await graph.readLosses(0, step + 1),
        curve: curve.slice(),
        trainSeconds: trainMs / 1000,
      });
      t0 = performance.now();
    }
  }
  await graph.readLosses(s.steps - 1, s.steps);
  trainMs += performance.now() - t0;
  const losses = await graph.readLosses(0, s.steps);
  const bad = losses.findIndex((l) => !Number.isFinite(l));
  if (bad >= 0) stopNonFinite(graph, bad, losses[bad]);
  return {
    params: await graph.readParams(),
    losses,
    trainSeconds: trainMs / 1000,
    stepsPerSecond: s.steps / (trainMs / 1000),
    dispatchesPerStep: graph.dispatchesPerStep,
    curve,
    graph,
  };
}

/** Fixed evaluation examples for a number of pairs (seeds apart from every training stream). */
export function evalExamples(task: Task, pairs: number, n: number, seed = 20_251_128): Example[] {
  const rng = Rng.derive(seed, 7919 * pairs + 13);
  return Array.from({ length: n }, () => task.sample(rng, pairs));
}

/** Recall with the training graph's batched forward (fast; same function as the inference engines). */
export async function graphRecall(graph: TrainGraph, task: Task, pairs: number, n: number, slot = 0, seed?: number): Promise<RecallScore> {
  const examples = evalExamples(task, pairs, n, seed);
  const score = new RecallScore();
  for (let at = 0; at < n; at += graph.B) {
    const chunk = examples.slice(at, at + graph.B);
    const batch = chunk.concat(Array.from({ length: graph.B - chunk.length }, () => chunk[0]));
    graph.setBatch(toGraphBatch(batch, graph.M));
    graph.forward(slot);
    const pred = await graph.readPredictions();
    let k = 0;
    batch.forEach((ex, i) => {
      const mine = pred.subarray(k, k + ex.queries.length);
      k += ex.queries.length;
      if (i < chunk.length) score.add(ex, mine);
    });
  }
  return score;
}

/**
 * Mean next-token loss (nats per scored token) over `examples` with the training graph's forward, in whole
 * batches of graph.B (a remainder of fewer than B examples is left out, so every batch has the same weight).
 */
export async function graphLoss(graph: TrainGraph, examples: Example[], slot = 0): Promise<number> {
  const batches = Math.floor(examples.length / graph.B);
  if (batches === 0) throw new TrainError(`graphLoss needs at least one batch of ${graph.B} examples, got ${examples.length}`);
  let sum = 0;
  let rows = 0;
  for (let b = 0; b < batches; b++) {
    const batch = toGraphBatch(examples.slice(b * graph.B, (b + 1) * graph.B), graph.M);
    graph.setBatch(batch);
    graph.forward(slot);
    const [loss] = await graph.readLosses(slot, slot + 1);
    sum += loss * batch.rows.length;
    rows += batch.rows.length;
  }
  return sum / rows;
}

/** Recall with an inference engine (CpuEngine or WebGpuEngine), one sequence at a time. */
export async function engineRecall(engine: Engine, task: Task, pairs: number, n: number, seed?: number): Promise<RecallScore> {
  const score = new RecallScore();
  const V = engine.config.vocabSize;
  for (const ex of evalExamples(task, pairs, n, seed)) {
    const { logits } = await engine.forward(Array.from(ex.ids));
    const pred = ex.queries.map((q) => {
      let best = 0;
      for (let v = 1; v < V; v++) if (logits.data[q.pos * V + v] > logits.data[q.pos * V + best]) best = v;
      return best;
    });
    score.add(ex, pred);
  }
  return score;
}

export interface AttentionStats {
  /** Mean over heads and rows of: probability mass on the meta tokens, on the first real token, and entropy (nats). */
  meta_mass: number;
  first_token_mass: number;
  entropy: number;
}

/**
 * Where attention goes, per attention layer and on average: on query rows (the key must be found) and on blank
 * rows after the context (nothing to retrieve). With meta tokens, also the same model run without them.
 */
export async function attentionDiagnostics(engine: Engine, task: Task, pairs = 16, n = 16): Promise<Record<string, unknown> | null> {
  const c = engine.config;
  const layers = c.layers.filter((l) => l.hasAttention).map((l) => l.index);
  if (layers.length === 0) return null;
  const examples = evalExamples(task, pairs, n, 77);
  const run = async (meta: boolean) => {
    const M = meta ? c.numMetaTokens : 0;
    const acc = new Map<string, { meta: number; first: number; entropy: number; rows: number }>();
    const add = (key: string, p: Float32Array, N: number, rowIndex: number) => {
      const row = p.subarray(rowIndex * N, (rowIndex + 1) * N);
      let m = 0;
      let ent = 0;
      for (let k = 0; k < N; k++) {
        if (k < M) m += row[k];
        if (row[k] > 0) ent -= row[k] * Math.log(row[k]);
      }
      const a = acc.get(key) ?? { meta: 0, first: 0, entropy: 0, rows: 0 };
      a.meta += m;
      a.first += row[M];
      a.entropy += ent;
      a.rows++;
      acc.set(key, a);
    };
    for (const ex of examples) {
      const { taps } = await engine.forward(Array.from(ex.ids), { meta, taps: layers.map((i) => `layers.${i}.attn.probs`) });
      for (const i of layers) {
        const probs = taps.get(`layers.${i}.attn.probs`)!;
        const [H, N] = probs.shape;
        for (let h = 0; h < H; h++) {
          const ph = probs.data.subarray(h * N * N, (h + 1) * N * N);
          for (const q of ex.queries) add(`${i}.query`, ph, N, M + q.pos);
          for (let t = 2 * ex.pairs; t < ex.ids.length; t++) if (ex.ids[t] === 0) add(`${i}.blank`, ph, N, M + t);
        }
      }
    }
    const out: Record<string, Record<string, AttentionStats>> = {};
    const mean: Record<string, AttentionStats> = {};
    for (const kind of ['query', 'blank']) {
      const all = { meta: 0, first: 0, entropy: 0, rows: 0 };
      for (const i of layers) {
        const a = acc.get(`${i}.${kind}`);
        if (!a) continue;
        (out[`layer_${i}`] ??= {})[kind] = {
          meta_mass: round(a.meta / a.rows),
          first_token_mass: round(a.first / a.rows),
          entropy: round(a.entropy / a.rows),
        };
        all.meta += a.meta / a.rows;
        all.first += a.first / a.rows;
        all.entropy += a.entropy / a.rows;
        all.rows++;
      }
      mean[kind] = {
        meta_mass: round(all.meta / all.rows),
        first_token_mass: round(all.first / all.rows),
        entropy: round(all.entropy / all.rows),
      };
    }
    return { mean, layers: out };
  };
  const result: Record<string, unknown> = {
    rows: `${n} examples at ${pairs} pairs; query rows and blank rows after the context`,
    with_meta: await run(true),
  };
  if (c.numMetaTokens > 0) result.without_meta = await run(false);
  return result;
}

export const round = (x: number, digits = 4): number => Number(x.toFixed(digits));

/** Accuracy by number of pairs and (at the headline pairs) by distance, in card form. */
export function recallTable(byPairs: Map<number, RecallScore>, headline = 16): Record<string, unknown> {
  const pairs: Record<string, number> = {};
  for (const [p, s] of byPairs) pairs[p] = round(s.accuracy());
  const h = byPairs.get(headline);
  return {
    by_pairs: pairs,
    by_distance: h
      ? Object.fromEntries(Object.entries(h.distanceTable()).map(([k, v]) => [k, { accuracy: round(v.accuracy), queries: v.queries }]))
      : null,
    distance_pairs: headline,
  };
}
