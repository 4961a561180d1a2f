// The paper's claims measured on a model that reads English (the en-* zoo): the same four measurements as
// claims.ts, with the ablations scored as the rise in validation loss (nats per token) instead of a task's
// accuracy, because running text has no answer positions. Per seed:
//
//  - loss ablations: every ablation of claims.ts's ablationPlan (one layer's attention or SSM branch, all of
//    either, the windowed or the global layers' attention, every attention but one layer's, the meta tokens), each
//    scored on the same validation windows as the intact model; a rise counts as significant above
//    max(MIN_RISE, 3 · the standard error of the per-window differences) — a paired comparison, window by window;
//  - attention shares and entropy with and without meta tokens, SSM half-lives from Δ and the branches' output
//    magnitudes, all on the first `statsWindows` of those windows (claims.ts measureStatistics, rows: every text row).
//
// textClaimsSummary() folds the seeds into the headline numbers the lessons quote: for each, its mean, min, max and
// every seed's value, so a lesson can say "in every seed" only when min and max agree in sign.
// Engine-only and backend-free (Engine.forward); the windows are plain Examples (engine/text/lm-data.ts). No DOM.

import type { Engine } from '../model.ts';
import { formatAblation, type Ablation } from '../ablation.ts';
import type { Example } from '../tasks/types.ts';
import { tokenLoss } from '../text/lm-eval.ts';
import { DEFAULT_BATCH } from './recall.ts';
import {
  ablationPlan,
  claimsModel,
  ClaimsError,
  measureStatistics,
  roundMeasure as round,
  type AblationKind,
  type Claims,
  type WeightReader,
} from './claims.ts';

/** Bumped when a field changes meaning. */
export const TEXT_CLAIMS_VERSION = 1;
/** Validation windows the loss ablations are scored on, evenly spread over the validation split. */
export const DEFAULT_TEXT_WINDOWS = 24;
/** Of those, the windows the tap statistics read. */
export const DEFAULT_TEXT_STATS_WINDOWS = 6;
/** The smallest loss rise (nats/token) that counts as "this branch matters", whatever the sample. */
export const MIN_RISE = 0.01;

export interface LossAblation {
  id: string;
  kind: AblationKind;
  layers: number[];
  /** The engine's ablation spec; '' for meta-off. */
  spec: string;
  loss: number;
  /** loss − the intact model's loss on the same windows (nats per token); negative: better without it. */
  rise: number;
  /** Standard error of the rise, from the per-window differences. */
  se: number;
  significant: boolean;
}

export interface TextClaims {
  version: number;
  backend: 'cpu' | 'webgpu';
  model: Claims['model'];
  settings: {
    windows: number;
    stats_windows: number;
    /** How the windows were picked from the validation split (textWindows). */
    selection: string;
    tokens: number;
    significance: string;
    half_life: string;
    magnitude: string;
  };
  /** The intact model's mean loss over the windows (nats per token). */
  loss: number;
  ablations: LossAblation[];
  /** Single-layer branches whose removal raises the loss significantly, largest rise first. */
  critical: string[];
  attention: Claims['attention'];
  ssm_half_life: Claims['ssm_half_life'];
  branch_magnitude: Claims['branch_magnitude'];
}

export interface TextClaimsOptions {
  /** The windows to score (see textWindows). */
  windows: Example[];
  /** How they were picked, recorded in the settings. */
  selection: string;
  /** Windows (the first ones) for the tap statistics (default min(windows, DEFAULT_TEXT_STATS_WINDOWS)). */
  statsWindows?: number;
  onProgress?: (p: { stage: 'ablations' | 'statistics'; done: number; total: number }) => void;
}

/**
 * `n` windows evenly spread over `all` (window k·step + phase·step, step = all/n): phase 0 is the cards' sample, a
 * phase in (0, 1) a disjoint fresh one of the same text.
 */
export function textWindows(all: Example[], n: number, phase = 0): Example[] {
  if (!Number.isInteger(n) || n < 1 || n > all.length) throw new ClaimsError(`windows must be an integer in 1..${all.length}, got ${n}`);
  if (!(phase >= 0 && phase < 1)) throw new ClaimsError(`the phase must be in [0, 1), got ${phase}`);
  const step = all.length / n;
  return Array.from({ length: n }, (_, k) => all[Math.floor(k * step + phase * step)]);
}

/** Mean loss over the targets ≥ 0 of a window, from its logits [positions, V]. */
function windowLoss(logits: Float32Array, w: Example, V: number): number {
  let nats = 0;
  let count = 0;
  for (let t = 0; t < w.targets.length; t++) {
    if (w.targets[t] < 0) continue;
    nats += tokenLoss(logits, t, V, w.targets[t]);
    count++;
  }
  if (count === 0) throw new ClaimsError('a validation window has no targets');
  return nats / count;
}

/**
 * Per-window mean loss under one ablation: through forwardBatch where the engine has it (WebGPU: a GPU round trip
 * per forward is what these small models cost, as in recall.ts answerExamples), one forward per window otherwise.
 */
async function windowLosses(engine: Engine, windows: Example[], run: { ablation: Ablation; meta: boolean }, tick: () => void) {
  const V = engine.config.vocabSize;
  const out: number[] = [];
  if (engine.forwardBatch) {
    const batch = engine.batchHint ?? DEFAULT_BATCH;
    for (let i = 0; i < windows.length; i += batch) {
      const chunk = windows.slice(i, i + batch);
      const items = chunk.map((w) => ({ ids: Array.from(w.ids), positions: Array.from(w.ids.keys()), ablation: run.ablation }));
      const logits = await engine.forwardBatch(items, { meta: run.meta });
      chunk.forEach((w, k) => {
        out.push(windowLoss(logits[k].data, w, V));
        tick();
      });
    }
    return out;
  }
  for (const w of windows) {
    out.push(windowLoss((await engine.forward(Array.from(w.ids), { meta: run.meta, ablation: run.ablation })).logits.data, w, V));
    tick();
  }
  return out;
}

const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;

/** Measure the claims of one English model (weights: the same checkpoint's, for A_log and β). */
export async function measureTextClaims(engine: Engine, weights: WeightReader, o: TextClaimsOptions): Promise<TextClaims> {
  const c = engine.config;
  const { windows } = o;
  if (windows.length < 2) throw new ClaimsError(`give at least 2 validation windows, got ${windows.length}`);
  const statsN = o.statsWindows ?? Math.min(windows.length, DEFAULT_TEXT_STATS_WINDOWS);
  if (!Number.isInteger(statsN) || statsN < 1 || statsN > windows.length)
    throw new ClaimsError(`statsWindows must be an integer in 1..${windows.length}, got ${statsN}`);
  const plan = ablationPlan(c);
  const total = windows.length * (new Set(plan.map((p) => `${formatAblation(p.ablation)}|${p.meta}`)).size + 1);
  let done = 0;
  const tick = () => o.onProgress?.({ stage: 'ablations', done: ++done, total });

  const base = await windowLosses(engine, windows, { ablation: [], meta: true }, tick);
  const loss = mean(base);
  const ablations = [];
  // One run per distinct (spec, meta): "global attention" of an all-global model is "all attention", measured once.
  const runs = new Map<string, number[]>();
  for (const p of plan) {
    const key = `${formatAblation(p.ablation)}|${p.meta}`;
    const losses = runs.get(key) ?? (await windowLosses(engine, windows, p, tick));
    runs.set(key, losses);
    const diff = losses.map((l, i) => l - base[i]);
    const rise = mean(diff);
    const sd = Math.sqrt(diff.reduce((s, d) => s + (d - rise) ** 2, 0) / (diff.length - 1));
    const se = sd / Math.sqrt(diff.length);
    ablations.push({
      id: p.id,
      kind: p.kind,
      layers: p.layers,
      spec: formatAblation(p.ablation),
      loss: round(mean(losses)),
      rise: round(rise),
      se: round(se),
      significant: rise > Math.max(MIN_RISE, 3 * se),
    });
  }
  const critical = ablations
    .filter((a) => (a.kind === 'layer-attention' || a.kind === 'layer-ssm') && a.significant)
    .sort((a, b) => b.rise - a.rise)
    .map((a) => a.id);

  const stats = await measureStatistics(
    engine,
    weights,
    [{ name: 'brown-validation', sequences: windows.slice(0, statsN).map((w) => Array.from(w.ids)), rows: {} }],
    {
      onProgress: (p) => o.onProgress?.({ stage: 'statistics', ...p }),
    },
  );
  return {
    version: TEXT_CLAIMS_VERSION,
    backend: engine.backend,
    model: claimsModel(c),
    settings: {
      windows: windows.length,
      stats_windows: statsN,
      selection: o.selection,
      tokens: windows.reduce((s, w) => s + w.targets.filter((t) => t >= 0).length, 0),
      significance: `a rise is significant above max(${MIN_RISE}, 3·SE), SE the standard error of the per-window loss differences`,
      half_life:
        'ln 2 / (mean Δ · |A|) tokens per channel, A = −exp(A_log), Δ after softplus averaged over the text tokens, meta tokens on',
      magnitude: 'RMS over text rows and channels of attn_out / ssm_out (raw) and of β ⊙ RMSNorm(output) (fused), meta tokens on',
    },
    loss: round(loss),
    ablations,
    critical,
    ...stats,
  };
}

// ---------------------------------------------------------------- the seeds, summarised

/** One headline number over the seeds. */
export interface Spread {
  mean: number;
  min: number;
  max: number;
  /** Every seed's value, in the order of TextClaimsBlock.seeds. */
  seeds: number[];
}

export interface TextClaimsSummary {
  loss: Spread;
  /** Loss rise per ablation id (attn@0, ssm@*, meta-off, ...). */
  rise: Record<string, Spread>;
  /** Attention over every text row, mean over the attention layers (absent for a model without attention). */
  attention?: {
    without_meta: { first: Spread; self: Spread; entropy: Spread };
    /** Present for a model with meta tokens. */
    with_meta?: { meta: Spread; first: Spread; self: Spread; entropy: Spread };
    /** Entropy with − without meta tokens (nats): negative = meta tokens sharpen attention. */
    entropy_change?: Spread;
  };
  /** SSM state half-lives (absent for a model without SSM). */
  half_life?: {
    /** Median over a layer's channels of the slowest-state half-life (tokens), per SSM layer. */
    median_by_layer: Record<string, Spread>;
    /** Share of all SSM channels whose slowest state outlives the training window (half-life > seq_len). */
    beyond_window: Spread;
  };
  /** Attention / SSM output magnitude as they enter the fusion (β ⊙ RMSNorm), per hybrid layer, and their mean. */
  ratio_fused?: { by_layer: Record<string, Spread>; mean: Spread };
  /** The same before the norms and β: the raw outputs (the paper's Fig. 12 compares these). */
  ratio_raw?: { by_layer: Record<string, Spread>; mean: Spread };
}

export interface TextClaimsBlock {
  version: number;
  /** Which weights were measured: the shipped seed's (in the folder) and any others the training run kept. */
  weights: string;
  seeds: Array<{ seed: number; shipped: boolean } & TextClaims>;
  summary: TextClaimsSummary;
}

/** Mean, min, max and every value, rounded as the claims are (shared with the synthetic zoo's summary). */
export function spread(values: number[]): Spread {
  return {
    mean: round(mean(values)),
    min: round(Math.min(...values)),
    max: round(Math.max(...values)),
    seeds: values.map(round),
  };
}

/** The headline numbers over the seeds; `seqLen` is the training window the half-lives are compared with. */
export function textClaimsSummary(seeds: TextClaims[], seqLen: number): TextClaimsSummary {
  if (seeds.length === 0) throw new ClaimsError('no seeds to summarise');
  const first = seeds[0];
  const over = (f: (c: TextClaims) => number) => spread(seeds.map(f));
  const summary: TextClaimsSummary = {
    loss: over((c) => c.loss),
    rise: Object.fromEntries(first.ablations.map((a) => [a.id, over((c) => c.ablations.find((b) => b.id === a.id)!.rise)])),
  };
  if (first.attention.length > 0) {
    const all = (c: TextClaims) => c.attention.find((a) => a.rows === 'all')!;
    summary.attention = {
      without_meta: {
        first: over((c) => all(c).without_meta.mean.first),
        self: over((c) => all(c).without_meta.mean.self),
        entropy: over((c) => all(c).without_meta.mean.entropy),
      },
    };
    if (all(first).with_meta) {
      summary.attention.with_meta = {
        meta: over((c) => all(c).with_meta!.mean.meta),
        first: over((c) => all(c).with_meta!.mean.first),
        self: over((c) => all(c).with_meta!.mean.self),
        entropy: over((c) => all(c).with_meta!.mean.entropy),
      };
      summary.attention.entropy_change = over((c) => all(c).with_meta!.mean.entropy - all(c).without_meta.mean.entropy);
    }
  }
  if (first.ssm_half_life.length > 0) {
    const layers = first.ssm_half_life[0].layers.map((l) => l.layer);
    summary.half_life = {
      median_by_layer: Object.fromEntries(
        layers.map((i) => [String(i), over((c) => c.ssm_half_life[0].layers.find((l) => l.layer === i)!.slowest_state.median)]),
      ),
      beyond_window: over((c) => {
        const all = c.ssm_half_life[0].layers.flatMap((l) => l.per_channel);
        return all.filter((h) => h > seqLen).length / all.length;
      }),
    };
  }
  const hybrid = first.branch_magnitude[0]?.layers.filter((l) => l.ratio_fused !== null).map((l) => l.layer) ?? [];
  if (hybrid.length > 0) {
    const ratios = (field: 'ratio_fused' | 'ratio_raw') => {
      const ratio = (c: TextClaims, i: number) => c.branch_magnitude[0].layers.find((l) => l.layer === i)![field]!;
      return {
        by_layer: Object.fromEntries(hybrid.map((i) => [String(i), over((c) => ratio(c, i))])),
        mean: over((c) => mean(hybrid.map((i) => ratio(c, i)))),
      };
    };
    summary.ratio_fused = ratios('ratio_fused');
    summary.ratio_raw = ratios('ratio_raw');
  }
  return summary;
}

/** The card's `claims` block from every measured seed (the shipped one marked). */
export function textClaimsBlock(
  seeds: Array<{ seed: number; shipped: boolean; claims: TextClaims }>,
  seqLen: number,
  weights: string,
): TextClaimsBlock {
  const sorted = seeds.slice().sort((a, b) => a.seed - b.seed);
  if (!sorted.some((s) => s.shipped)) throw new ClaimsError('the shipped seed is not among the measured ones');
  return {
    version: TEXT_CLAIMS_VERSION,
    weights,
    seeds: sorted.map((s) => ({ seed: s.seed, shipped: s.shipped, ...s.claims })),
    summary: textClaimsSummary(
      sorted.map((s) => s.claims),
      seqLen,
    ),
  };
}
