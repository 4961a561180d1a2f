// The paper's claims about how Hymba divides the work, measured on one trained model, as a JSON record for its card
// (`card.claims`). Four measurements, each on a seeded sample whose size and seed the record keeps:
//
//  - ablations (paper Sec. 2.1, App. C): the accuracy lost on each evaluation task when one layer's attention branch,
//    one layer's SSM branch, all SSM branches, all attention, the windowed layers' attention, the global layers'
//    attention, or the meta tokens are switched off; and from that, which branch carries the task;
//  - where attention goes (Fig. 7 / Fig. 15): mass on the meta tokens, on the first text token and on the query
//    itself, and the entropy of the rows, with and without the meta tokens, on each prompt set;
//  - SSM memory: the state half-life of each channel from Δ, ln 2 / (Δ̄·|A|) tokens, summarised per layer;
//  - the two branches' output magnitudes per layer (Fig. 12): RMS of the attention and SSM outputs as they leave
//    their branches, and after their RMSNorms and gains β, where they enter the fusion.
//
// Any task with the Task interface (engine/tasks/types.ts: a seeded generator whose examples list their answer
// positions) can be evaluated; prompt sets are plain token-id sequences, so a model that reads English is measured on
// its own tokenizer's output. Engine-only and backend-free: it calls Engine.forward / forwardBatch (through
// answerExamples) and reads taps by name. No DOM.

import type { Engine } from '../model.ts';
import type { HymbaConfig } from '../config.ts';
import { formatAblation, type Ablation } from '../ablation.ts';
import { weightF32, type Checkpoint } from '../checkpoint/load.ts';
import { CpuEngine } from '../cpu/forward.ts';
import { RecallScore } from '../tasks/distance.ts';
import { MqarTask } from '../tasks/mqar.ts';
import { SelectiveCopyTask } from '../tasks/selective-copy.ts';
import type { Example, Task } from '../tasks/types.ts';
import type { Tensor } from '../tensor.ts';
import { attentionStats, type HeadAttentionStats } from './attention-stats.ts';
import { answerExamples, checkTask, freshExamples, standardError, FRESH_SEED, type AnsweredExample } from './recall.ts';

export class ClaimsError extends Error {
  constructor(message: string) {
    super(`claims: ${message}`);
    this.name = 'ClaimsError';
  }
}

/** Bumped when a field changes meaning. */
export const CLAIMS_VERSION = 1;

/** Fresh sequences per ablation (and per task) when the caller gives no n. */
export const DEFAULT_CLAIMS_N = 100;
/** Sequences of each task that the attention, half-life and magnitude statistics read (they need taps). */
export const DEFAULT_STATS_N = 16;
/** The smallest accuracy drop (absolute) that counts as "this branch matters", whatever the sample size. */
export const MIN_DROP = 0.02;

// ---------------------------------------------------------------- the record

export type AblationKind =
  | 'layer-attention'
  | 'layer-ssm'
  | 'all-attention'
  | 'all-ssm'
  | 'windowed-attention'
  | 'global-attention'
  | 'only-layer-attention'
  | 'meta-tokens';

export interface AblationResult {
  /**
   * attn@i, ssm@i, attn@*, ssm@*, attn@windowed, attn@global, attn-only@i (every attention branch off but layer
   * i's; SSM branches kept) or meta-off.
   */
  id: string;
  kind: AblationKind;
  /** The layers whose branch was switched off (attn-only@i: the one layer kept; meta-off: every layer). */
  layers: number[];
  /** The engine's ablation spec (engine/ablation.ts); '' for meta-off, which drops the meta tokens instead. */
  spec: string;
  accuracy: number;
  /** baseline − accuracy, in accuracy units (0.5 = 50 points); negative: the model does better without it. */
  drop: number;
  /** drop > the task's threshold. */
  significant: boolean;
  /** Accuracy per key→query distance bucket (engine/tasks/distance.ts). */
  by_distance: Record<string, number>;
}

/** What removing each branch does to one task. */
export type Carrier = 'attention' | 'ssm' | 'both' | 'neither';

export interface TaskAblations {
  task: string;
  task_info: Record<string, unknown>;
  /** The difficulty the examples were drawn at (MQAR: pairs); null = the task's training distribution. */
  pairs: number | null;
  sequences: number;
  queries: number;
  baseline: number;
  baseline_by_distance: Record<string, number>;
  /** A drop counts as significant above this: max(MIN_DROP, 3·√2·standard error of the baseline). */
  threshold: number;
  results: AblationResult[];
  /**
   * attention: only removing all attention costs significant accuracy; ssm: only removing all SSM does; both: each
   * does; neither: neither does (either branch alone suffices, or the intact model never learned the task: read
   * the baseline). A model without one kind of branch can only be carried by the other or by neither.
   */
  carried_by: Carrier;
  /** Single-layer branches (attn@i / ssm@i) whose removal is significant, largest drop first. */
  critical: string[];
  /**
   * attn-only@i runs that keep the accuracy (drop not significant) where removing all attention does not: layer i's
   * attention suffices on its own. Empty when attention does not matter for the task.
   */
  sufficient_alone: string[];
}

/** Mean shares of a query row's attention (they add up to 1 with cross) and its entropy in nats. */
export interface AttentionShares {
  meta: number;
  first: number;
  self: number;
  cross: number;
  entropy: number;
}

export interface LayerAttention {
  layer: number;
  global: boolean;
  /** The sliding window of a windowed layer; null for a global one. */
  window: number | null;
  mean: AttentionShares;
  heads: AttentionShares[];
}

export interface AttentionRun {
  /** Query rows averaged over, summed over the prompt set (per head and layer). */
  rows: number;
  /** Mean over the attention layers. */
  mean: AttentionShares;
  layers: LayerAttention[];
}

export interface PromptAttention {
  prompts: string;
  sequences: number;
  /**
   * all: every text row after the first text token; query: the rows where a task's answer is read; blank: the rows
   * after the first that hold the task's blank token (task.info.blank), where there is nothing to retrieve.
   */
  rows: RowKind;
  /** With the model's meta tokens (null when it has none). */
  with_meta: AttentionRun | null;
  /** Without them (for a model without meta tokens: as it runs). */
  without_meta: AttentionRun;
}

export interface Quartiles {
  min: number;
  q1: number;
  median: number;
  q3: number;
  max: number;
}

export interface LayerHalfLife {
  layer: number;
  channels: number;
  /** Δ̄ per channel: Δ (after softplus) averaged over the text tokens of the prompt set. */
  mean_dt: Quartiles;
  /** Per channel, the half-life of its slowest state (the smallest |A| of its row): its longest memory, in tokens. */
  slowest_state: Quartiles;
  /** Per channel, the half-life of its fastest state (the largest |A|). */
  fastest_state: Quartiles;
  /** The slowest-state half-life of every channel, in channel order (3 significant digits). */
  per_channel: number[];
  /** Channels whose Δ̄·|A| is 0 (the state never decays): left out of the quartiles, 0 in per_channel. */
  never_decays: number;
}

export interface PromptHalfLife {
  prompts: string;
  sequences: number;
  /** Text tokens Δ was averaged over. */
  tokens: number;
  layers: LayerHalfLife[];
}

export interface BranchMagnitude {
  /** RMS of the branch output (attn_out / ssm_out) over the text rows and channels. */
  raw_rms: number;
  /** RMS of β ⊙ RMSNorm(output): what the branch adds to the fusion (before the /2). */
  fused_rms: number;
}

export interface LayerMagnitude {
  layer: number;
  attention: BranchMagnitude | null;
  ssm: BranchMagnitude | null;
  /** attention / SSM, for layers with both branches. */
  ratio_raw: number | null;
  ratio_fused: number | null;
}

export interface PromptMagnitude {
  prompts: string;
  sequences: number;
  layers: LayerMagnitude[];
}

export interface Claims {
  version: number;
  backend: 'cpu' | 'webgpu';
  model: { layers: number; meta_tokens: number; sliding_window: number; global_layers: number[] };
  settings: {
    /** Fresh sequences per task, each answered once intact and once per ablation. */
    n: number;
    /** Sequences of each task (the first of the n) that the attention, half-life and magnitude statistics read. */
    stats_n: number;
    seed: number;
    tasks: Array<{ name: string; pairs: number | null }>;
    prompt_sets: Array<{ name: string; sequences: number }>;
    significance: string;
    half_life: string;
    magnitude: string;
  };
  ablations: TaskAblations[];
  /** One entry per prompt set and row kind; empty for a model without attention. */
  attention: PromptAttention[];
  /** One entry per prompt set; empty for a model without SSM. */
  ssm_half_life: PromptHalfLife[];
  branch_magnitude: PromptMagnitude[];
}

// ---------------------------------------------------------------- options

/** A task to evaluate, with the difficulty to draw its examples at (default: see defaultPairs). */
export interface ClaimsTask {
  task: Task;
  pairs?: number;
}

/** Token-id sequences to measure attention, half-lives and magnitudes on (e.g. English sentences). */
export interface PromptSet {
  name: string;
  sequences: number[][];
}

export interface ClaimsOptions {
  tasks: Array<Task | ClaimsTask>;
  /** Fresh sequences per task (default DEFAULT_CLAIMS_N). */
  n?: number;
  /** Sequences of each task for the tap statistics (default min(n, DEFAULT_STATS_N)). */
  statsN?: number;
  seed?: number;
  prompts?: PromptSet[];
  /** Sequences per batched call (answerExamples). */
  batch?: number;
  signal?: { aborted: boolean };
  /** Forward passes done so far out of the total (each stage counts its own). */
  onProgress?: (p: { stage: 'ablations' | 'statistics'; done: number; total: number }) => void;
}

/** A weight by official name as float32, undefined when the checkpoint lacks it. */
export type WeightReader = (name: string) => Float32Array | undefined;

export function checkpointWeights(ck: Checkpoint): WeightReader {
  return (name) => {
    const w = ck.weights.get(name);
    return w ? weightF32(w) : undefined;
  };
}

/** The cards' evaluation difficulty: MQAR at 16 pairs, copying at its token count, other tasks as trained. */
export function defaultPairs(task: Task): number | undefined {
  if (task instanceof MqarTask) return Math.min(16, task.maxPairs);
  if (task instanceof SelectiveCopyTask) return task.tokens;
  return undefined;
}

// ---------------------------------------------------------------- the ablations

export interface PlannedAblation {
  id: string;
  kind: AblationKind;
  layers: number[];
  ablation: Ablation;
  meta: boolean;
}

/** Every ablation the model allows, in record order (groups that would be empty are left out). */
export function ablationPlan(config: HymbaConfig): PlannedAblation[] {
  const plan: PlannedAblation[] = [];
  const attn = config.layers.filter((l) => l.hasAttention).map((l) => l.index);
  const ssm = config.layers.filter((l) => l.hasSsm).map((l) => l.index);
  const off = (branch: 'attn' | 'ssm', layers: number[]): Ablation => layers.map((layer) => ({ branch, layer, unit: null }));
  const add = (id: string, kind: AblationKind, branch: 'attn' | 'ssm', layers: number[]) => {
    if (layers.length > 0) plan.push({ id, kind, layers, ablation: off(branch, layers), meta: true });
  };
  for (const i of attn) add(`attn@${i}`, 'layer-attention', 'attn', [i]);
  for (const i of ssm) add(`ssm@${i}`, 'layer-ssm', 'ssm', [i]);
  add('attn@*', 'all-attention', 'attn', attn);
  add('ssm@*', 'all-ssm', 'ssm', ssm);
  add(
    'attn@windowed',
    'windowed-attention',
    'attn',
    attn.filter((i) => !config.layers[i].global),
  );
  add(
    'attn@global',
    'global-attention',
    'attn',
    attn.filter((i) => config.layers[i].global),
  );
  if (attn.length > 1)
    for (const i of attn)
      plan.push({
        id: `attn-only@${i}`,
        kind: 'only-layer-attention',
        layers: [i],
        ablation: off(
          'attn',
          attn.filter((j) => j !== i),
        ),
        meta: true,
      });
  if (config.numMetaTokens > 0)
    plan.push({ id: 'meta-off', kind: 'meta-tokens', layers: config.layers.map((l) => l.index), ablation: [], meta: false });
  return plan;
}

function score(examples: Example[], answers: AnsweredExample[]): RecallScore {
  const s = new RecallScore();
  answers.forEach((a, i) =>
    s.add(
      examples[i],
      a.queries.map((q) => q.predicted),
    ),
  );
  return s;
}

function distanceAccuracy(s: RecallScore): Record<string, number> {
  return Object.fromEntries(Object.entries(s.distanceTable()).map(([k, v]) => [k, round(v.accuracy)]));
}

function carrier(results: AblationResult[]): Carrier {
  const matters = (id: string) => results.find((r) => r.id === id)?.significant ?? false;
  const a = matters('attn@*');
  const s = matters('ssm@*');
  if (a && s) return 'both';
  if (a) return 'attention';
  if (s) return 'ssm';
  return 'neither';
}

async function ablateTask(
  engine: Engine,
  spec: ClaimsTask,
  examples: Example[],
  plan: PlannedAblation[],
  o: ClaimsOptions,
  progress: (answered: number) => void,
): Promise<TaskAblations> {
  const { task } = spec;
  // One run per distinct (spec, meta): "global attention" of an all-global model is "all attention", measured once.
  const key = (p: { ablation: Ablation; meta: boolean }) => `${formatAblation(p.ablation)}|${p.meta}`;
  const runs = [{ ablation: [] as Ablation, meta: true }];
  for (const p of plan) if (!runs.some((r) => key(r) === key(p))) runs.push({ ablation: p.ablation, meta: p.meta });
  const scores = new Map<string, RecallScore>();
  for (const meta of [true, false]) {
    const mine = runs.filter((r) => r.meta === meta);
    if (mine.length === 0) continue;
    const jobs = mine.flatMap((r) => examples.map((example) => ({ example, ablation: r.ablation })));
    const answers = await answerExamples(engine, jobs, { batch: o.batch, signal: o.signal, meta, onAnswered: () => progress(1) });
    if (answers.length < jobs.length) throw new ClaimsError('stopped before the ablations were measured');
    mine.forEach((r, k) => scores.set(key(r), score(examples, answers.slice(k * examples.length, (k + 1) * examples.length))));
  }
  const base = scores.get(key(runs[0]))!;
  const baseline = base.accuracy();
  const queries = base.overall.total;
  if (queries === 0) throw new ClaimsError(`task ${task.name} produced no answer positions in ${examples.length} sequences`);
  const threshold = Math.max(MIN_DROP, 3 * Math.SQRT2 * standardError(baseline, queries));
  const results = plan.map((p): AblationResult => {
    const s = scores.get(key(p))!;
    const drop = baseline - s.accuracy();
    return {
      id: p.id,
      kind: p.kind,
      layers: p.layers,
      spec: formatAblation(p.ablation),
      accuracy: round(s.accuracy()),
      drop: round(drop),
      significant: drop > threshold,
      by_distance: distanceAccuracy(s),
    };
  });
  const critical = results
    .filter((r) => (r.kind === 'layer-attention' || r.kind === 'layer-ssm') && r.significant)
    .sort((a, b) => b.drop - a.drop)
    .map((r) => r.id);
  // "Layer i suffices" only means something where attention matters at all (removing all of it costs accuracy).
  const attentionMatters = results.some((r) => r.kind === 'all-attention' && r.significant);
  const sufficient = attentionMatters ? results.filter((r) => r.kind === 'only-layer-attention' && !r.significant).map((r) => r.id) : [];
  return {
    task: task.name,
    task_info: task.info,
    pairs: spec.pairs ?? null,
    sequences: examples.length,
    queries,
    baseline: round(baseline),
    baseline_by_distance: distanceAccuracy(base),
    threshold: round(threshold),
    results,
    carried_by: carrier(results),
    critical,
    sufficient_alone: sufficient,
  };
}

// ---------------------------------------------------------------- tap statistics

/** all: every text row after the first; query: a task's answer rows; blank: rows holding the task's blank token. */
export type RowKind = 'all' | 'query' | 'blank';

/** A prompt set prepared for the tap pass: its sequences, and per sequence the rows (text indices) of each kind. */
export interface StatsSet {
  name: string;
  sequences: number[][];
  /** The rows of each kind besides 'all', per sequence. */
  rows: Partial<Record<RowKind, number[][]>>;
}

class AttentionSums {
  rows = 0;
  private readonly sums = new Map<number, HeadAttentionStats[]>();
  add(layer: number, stats: HeadAttentionStats[], rows: number): void {
    const s = this.sums.get(layer) ?? stats.map(() => ({ meta: 0, first: 0, self: 0, cross: 0, entropy: 0 }));
    stats.forEach((h, k) => {
      for (const f of SHARE_FIELDS) s[k][f] += h[f] * rows;
    });
    this.sums.set(layer, s);
  }
  /** Called once per sequence with its row count (the same for every layer and head). */
  count(rows: number): void {
    this.rows += rows;
  }
  result(config: HymbaConfig): AttentionRun {
    const layers = [...this.sums.entries()].map(([layer, heads]): LayerAttention => {
      const per = heads.map((h) => shares(h, 1 / this.rows));
      return {
        layer,
        global: config.layers[layer].global,
        window: config.layers[layer].global ? null : config.slidingWindow,
        mean: meanShares(per),
        heads: per,
      };
    });
    return { rows: this.rows, mean: meanShares(layers.map((l) => l.mean)), layers };
  }
}

const SHARE_FIELDS = ['meta', 'first', 'self', 'cross', 'entropy'] as const;

function shares(s: HeadAttentionStats, scale: number): AttentionShares {
  return {
    meta: round(s.meta * scale),
    first: round(s.first * scale),
    self: round(s.self * scale),
    cross: round(s.cross * scale),
    entropy: round(s.entropy * scale),
  };
}

function meanShares(list: AttentionShares[]): AttentionShares {
  const m = { meta: 0, first: 0, self: 0, cross: 0, entropy: 0 };
  for (const s of list) for (const f of SHARE_FIELDS) m[f] += s[f] / list.length;
  return shares(m, 1);
}

/** Sums of squares per layer and branch, raw and after norm ⊙ β. */
interface SquareSums {
  raw: number;
  fused: number;
  count: number;
}

function addSquares(t: Tensor, M: number, beta: Float32Array, eps: number, into: SquareSums): void {
  const [N, C] = t.shape;
  for (let r = M; r < N; r++) {
    const row = t.data.subarray(r * C, (r + 1) * C);
    let ss = 0;
    for (let c = 0; c < C; c++) ss += row[c] * row[c];
    // RMSNorm as the fusion applies it (engine/cpu/ops.ts rmsnorm): x / √(mean x² + ε) · β.
    const inv = 1 / Math.sqrt(ss / C + eps);
    let fused = 0;
    for (let c = 0; c < C; c++) fused += (row[c] * inv * beta[c]) ** 2;
    into.raw += ss;
    into.fused += fused;
    into.count += C;
  }
}

async function tapStatistics(
  engine: Engine,
  weights: WeightReader,
  set: StatsSet,
  progress: () => void,
): Promise<{ attention: PromptAttention[]; halfLife: PromptHalfLife | null; magnitude: PromptMagnitude }> {
  const c = engine.config;
  const M = c.numMetaTokens;
  const E = c.dInner;
  const S = c.dState;
  const eps = c.rmsNormEps;
  const attnLayers = c.layers.filter((l) => l.hasAttention).map((l) => l.index);
  const ssmLayers = c.layers.filter((l) => l.hasSsm).map((l) => l.index);
  const need = (name: string): Float32Array => {
    const w = weights(name);
    if (!w) throw new ClaimsError(`weight ${name} is not in the checkpoint`);
    return w;
  };
  const kinds: RowKind[] = ['all', ...(['query', 'blank'] as const).filter((k) => set.rows[k])];
  const sums = { with: new Map<string, AttentionSums>(), without: new Map<string, AttentionSums>() };
  for (const k of kinds) {
    sums.with.set(k, new AttentionSums());
    sums.without.set(k, new AttentionSums());
  }
  const dtSum = new Map(ssmLayers.map((i) => [i, new Float64Array(E)]));
  let dtTokens = 0;
  const squares = new Map(c.layers.map((l) => [l.index, { attn: { raw: 0, fused: 0, count: 0 }, ssm: { raw: 0, fused: 0, count: 0 } }]));

  for (let s = 0; s < set.sequences.length; s++) {
    const ids = set.sequences[s];
    if (ids.length < 2) throw new ClaimsError(`prompt set "${set.name}", sequence ${s}: needs at least 2 tokens, got ${ids.length}`);
    for (const meta of M > 0 ? [true, false] : [false]) {
      const m = meta ? M : 0;
      const taps = [...attnLayers.map((i) => `layers.${i}.attn.probs`)];
      if (meta || M === 0) {
        for (const i of ssmLayers) taps.push(`layers.${i}.ssm.dt`, `layers.${i}.ssm_out`);
        for (const i of attnLayers) taps.push(`layers.${i}.attn_out`);
      }
      let result;
      try {
        result = await engine.forward(ids, { meta, taps });
      } catch (e) {
        throw new ClaimsError(`prompt set "${set.name}", sequence ${s}: ${(e as Error).message}`);
      }
      progress();
      const into = meta ? sums.with : sums.without;
      for (const kind of kinds) {
        const rows = kind === 'all' ? undefined : set.rows[kind]![s].map((r) => m + r);
        const n = rows ? rows.length : ids.length - 1;
        if (n === 0) continue;
        for (const i of attnLayers)
          into.get(kind)!.add(i, attentionStats(result.taps.get(`layers.${i}.attn.probs`)!, { numMeta: m, rows }), n);
        into.get(kind)!.count(n);
      }
      if (!(meta || M === 0)) continue;
      // The model as trained (with its meta tokens) is the one whose memory and magnitudes are recorded.
      dtTokens += ids.length;
      for (const i of ssmLayers) {
        const dt = result.taps.get(`layers.${i}.ssm.dt`)!;
        const acc = dtSum.get(i)!;
        for (let r = m; r < m + ids.length; r++) for (let e = 0; e < E; e++) acc[e] += dt.data[r * E + e];
        addSquares(
          result.taps.get(`layers.${i}.ssm_out`)!,
          m,
          need(`model.layers.${i}.mamba.pre_avg_layernorm2.weight`),
          eps,
          squares.get(i)!.ssm,
        );
      }
      for (const i of attnLayers)
        addSquares(
          result.taps.get(`layers.${i}.attn_out`)!,
          m,
          need(`model.layers.${i}.mamba.pre_avg_layernorm1.weight`),
          eps,
          squares.get(i)!.attn,
        );
    }
  }

  const attention = kinds.map((kind): PromptAttention => ({
    prompts: set.name,
    sequences: set.sequences.length,
    rows: kind,
    with_meta: M > 0 ? sums.with.get(kind)!.result(c) : null,
    without_meta: sums.without.get(kind)!.result(c),
  }));

  const halfLife =
    ssmLayers.length === 0
      ? null
      : {
          prompts: set.name,
          sequences: set.sequences.length,
          tokens: dtTokens,
          layers: ssmLayers.map((i) => layerHalfLife(i, dtSum.get(i)!, dtTokens, need(`model.layers.${i}.mamba.A_log.0`), E, S)),
        };

  const rms = (q: SquareSums) => Math.sqrt(q.raw / q.count);
  const magnitude: PromptMagnitude = {
    prompts: set.name,
    sequences: set.sequences.length,
    layers: c.layers.map((l) => {
      const q = squares.get(l.index)!;
      const branch = (has: boolean, s: SquareSums): BranchMagnitude | null =>
        has ? { raw_rms: round(rms(s)), fused_rms: round(Math.sqrt(s.fused / s.count)) } : null;
      const both = l.hasAttention && l.hasSsm;
      return {
        layer: l.index,
        attention: branch(l.hasAttention, q.attn),
        ssm: branch(l.hasSsm, q.ssm),
        ratio_raw: both ? round(rms(q.attn) / rms(q.ssm)) : null,
        ratio_fused: both ? round(Math.sqrt(q.attn.fused / q.ssm.fused)) : null,
      };
    }),
  };
  return { attention, halfLife, magnitude };
}

/**
 * Half-lives of one layer's channels. The state of channel e, state s decays by exp(Δ_t·A_es) at token t, so over
 * T tokens by exp(A_es·ΣΔ_t): at the mean rate Δ̄_e it halves after ln 2 / (Δ̄_e·|A_es|) tokens.
 */
export function layerHalfLife(layer: number, dtSum: Float64Array, tokens: number, aLog: Float32Array, E: number, S: number): LayerHalfLife {
  if (aLog.length !== E * S) throw new ClaimsError(`layer ${layer}: A_log has ${aLog.length} values, expected ${E}×${S}`);
  const meanDt: number[] = [];
  const slowest: number[] = [];
  const fastest: number[] = [];
  const perChannel: number[] = [];
  let never = 0;
  for (let e = 0; e < E; e++) {
    const dt = dtSum[e] / tokens;
    let minA = Infinity;
    let maxA = 0;
    for (let s = 0; s < S; s++) {
      const a = Math.exp(aLog[e * S + s]);
      minA = Math.min(minA, a);
      maxA = Math.max(maxA, a);
    }
    meanDt.push(dt);
    const long = Math.LN2 / (dt * minA);
    if (!Number.isFinite(long)) {
      never++;
      perChannel.push(0);
      continue;
    }
    slowest.push(long);
    fastest.push(Math.LN2 / (dt * maxA));
    perChannel.push(significant(long));
  }
  return {
    layer,
    channels: E,
    mean_dt: quartiles(meanDt),
    slowest_state: quartiles(slowest),
    fastest_state: quartiles(fastest),
    per_channel: perChannel,
    never_decays: never,
  };
}

/** Min, quartiles and max (linear interpolation between order statistics, as numpy's default). */
export function quartiles(values: number[]): Quartiles {
  if (values.length === 0) return { min: 0, q1: 0, median: 0, q3: 0, max: 0 };
  const v = values.slice().sort((a, b) => a - b);
  const at = (p: number) => {
    const x = p * (v.length - 1);
    const lo = Math.floor(x);
    const hi = Math.min(lo + 1, v.length - 1);
    return v[lo] + (v[hi] - v[lo]) * (x - lo);
  };
  return {
    min: significant(v[0]),
    q1: significant(at(0.25)),
    median: significant(at(0.5)),
    q3: significant(at(0.75)),
    max: significant(v[v.length - 1]),
  };
}

// ---------------------------------------------------------------- entry points

/** The answer rows of each example, and its blank rows when the task names a blank token. */
function taskRows(task: Task, examples: Example[]): StatsSet['rows'] {
  const blank = task.info.blank;
  const rows: StatsSet['rows'] = { query: examples.map((e) => e.queries.map((q) => q.pos)) };
  if (typeof blank === 'number') rows.blank = examples.map((e) => Array.from(e.ids.keys()).filter((t) => t > 0 && e.ids[t] === blank));
  return rows;
}

function taskSpec(t: Task | ClaimsTask): ClaimsTask {
  if ('task' in t) return { task: t.task, pairs: t.pairs ?? defaultPairs(t.task) };
  return { task: t, pairs: defaultPairs(t) };
}

/** The tap statistics of the claims (attention shares, SSM half-lives, branch magnitudes) on prompt sets. */
export async function measureStatistics(
  engine: Engine,
  weights: WeightReader,
  sets: StatsSet[],
  o: { signal?: { aborted: boolean }; onProgress?: (p: { done: number; total: number }) => void } = {},
): Promise<Pick<Claims, 'attention' | 'ssm_half_life' | 'branch_magnitude'>> {
  const c = engine.config;
  const passes = c.numMetaTokens > 0 ? 2 : 1;
  const statsTotal = sets.reduce((s, x) => s + x.sequences.length * passes, 0);
  let statsDone = 0;
  const attention: PromptAttention[] = [];
  const halfLives: PromptHalfLife[] = [];
  const magnitudes: PromptMagnitude[] = [];
  for (const set of sets) {
    if (o.signal?.aborted) throw new ClaimsError('stopped before the statistics were measured');
    const r = await tapStatistics(engine, weights, set, () => o.onProgress?.({ done: ++statsDone, total: statsTotal }));
    if (c.layers.some((l) => l.hasAttention)) attention.push(...r.attention);
    if (r.halfLife) halfLives.push(r.halfLife);
    magnitudes.push(r.magnitude);
  }
  return { attention, ssm_half_life: halfLives, branch_magnitude: magnitudes };
}

/** Measure every claim on `engine` (weights: the same checkpoint's, for A_log and the fusion gains β). */
/** What a claims record says of the model it measured (both the synthetic and the English claims). */
export function claimsModel(c: HymbaConfig): Claims['model'] {
  return {
    layers: c.numLayers,
    meta_tokens: c.numMetaTokens,
    sliding_window: c.slidingWindow,
    global_layers: c.layers.filter((l) => l.hasAttention && l.global).map((l) => l.index),
  };
}

export async function measureClaims(engine: Engine, weights: WeightReader, o: ClaimsOptions): Promise<Claims> {
  const c = engine.config;
  const n = o.n ?? DEFAULT_CLAIMS_N;
  const statsN = o.statsN ?? Math.min(n, DEFAULT_STATS_N);
  const seed = o.seed ?? FRESH_SEED;
  if (!Number.isInteger(n) || n < 1) throw new ClaimsError(`n must be a positive integer, got ${n}`);
  if (!Number.isInteger(statsN) || statsN < 0 || statsN > n) throw new ClaimsError(`statsN must be an integer in 0..${n}, got ${statsN}`);
  if (!Number.isInteger(seed)) throw new ClaimsError(`the seed must be an integer, got ${seed}`);
  const tasks = o.tasks.map(taskSpec);
  if (tasks.length === 0 && (o.prompts ?? []).length === 0) throw new ClaimsError('give at least one task or prompt set');
  for (const t of tasks) checkTask(engine, t.task);
  for (const p of o.prompts ?? []) if (p.sequences.length === 0) throw new ClaimsError(`prompt set "${p.name}" has no sequences`);

  const plan = ablationPlan(c);
  const examples = tasks.map((t) => freshExamples(t.task, t.pairs, n, seed));
  const distinctRuns = new Set(plan.map((p) => `${formatAblation(p.ablation)}|${p.meta}`)).size + 1;
  const ablationTotal = tasks.length * n * distinctRuns;
  let done = 0;
  const ablations: TaskAblations[] = [];
  for (let k = 0; k < tasks.length; k++) {
    ablations.push(
      await ablateTask(engine, tasks[k], examples[k], plan, o, (a) => {
        done += a;
        o.onProgress?.({ stage: 'ablations', done, total: ablationTotal });
      }),
    );
  }

  const sets: StatsSet[] = [
    ...(statsN === 0
      ? []
      : tasks.map((t, k) => ({
          name: `task:${t.task.name}`,
          sequences: examples[k].slice(0, statsN).map((e) => Array.from(e.ids)),
          rows: taskRows(t.task, examples[k].slice(0, statsN)),
        }))),
    ...(o.prompts ?? []).map((p) => ({ name: p.name, sequences: p.sequences, rows: {} })),
  ];
  const {
    attention,
    ssm_half_life: halfLives,
    branch_magnitude: magnitudes,
  } = await measureStatistics(engine, weights, sets, {
    signal: o.signal,
    onProgress: (p) => o.onProgress?.({ stage: 'statistics', ...p }),
  });

  return {
    version: CLAIMS_VERSION,
    backend: engine.backend,
    model: claimsModel(c),
    settings: {
      n,
      stats_n: statsN,
      seed,
      tasks: tasks.map((t) => ({ name: t.task.name, pairs: t.pairs ?? null })),
      prompt_sets: sets.map((s) => ({ name: s.name, sequences: s.sequences.length })),
      significance: `a drop is significant above max(${MIN_DROP}, 3·√2·SE), SE the binomial standard error of the baseline over its queries`,
      half_life:
        'ln 2 / (mean Δ · |A|) tokens per channel, A = −exp(A_log), Δ after softplus averaged over the text tokens, meta tokens on',
      magnitude: 'RMS over text rows and channels of attn_out / ssm_out (raw) and of β ⊙ RMSNorm(output) (fused), meta tokens on',
    },
    ablations,
    attention,
    ssm_half_life: halfLives,
    branch_magnitude: magnitudes,
  };
}

/** The same on a checkpoint, with the CPU reference engine (the card pipeline: `card.claims = await ...`). */
export async function checkpointClaims(ck: Checkpoint, o: ClaimsOptions): Promise<Claims> {
  return measureClaims(new CpuEngine(ck), checkpointWeights(ck), o);
}

/** The card with its claims set (replacing any earlier measurement). */
export function withClaims<C extends Record<string, unknown>>(card: C, claims: Claims): C & { claims: Claims } {
  return { ...card, claims };
}

function round(x: number): number {
  if (!Number.isFinite(x)) throw new ClaimsError(`a measurement came out non-finite (${x})`);
  return Math.round(x * 1e4) / 1e4;
}

/** 3 significant digits (half-lives range from a fraction of a token to thousands). */
function significant(x: number): number {
  if (!Number.isFinite(x)) throw new ClaimsError(`a measurement came out non-finite (${x})`);
  return x === 0 ? 0 : Number(x.toPrecision(3));
}

/** The claims' rounding, for records built on these (text-claims.ts). */
export { round as roundMeasure };
