// The synthetic zoo's claims over its seeds: each seed's `Claims` record (claims.ts, measured on the mixture's member
// tasks) and a summary of the headline numbers, each as mean, min, max and every seed's value. The summary is a pure
// function of the seeds' records, so it can be recomputed whenever it gains a field. The English zoo's twin is
// textClaimsSummary (text-claims.ts), which scores ablations as loss rises instead of accuracy drops.
import { ClaimsError, type Claims } from './claims.ts';
import { spread, type Spread } from './text-claims.ts';

export const TASK_CLAIMS_VERSION = 1;

export interface TaskSummary {
  /** Intact accuracy on the task's fresh sequences. */
  baseline: Spread;
  /** Accuracy drop per ablation id (attn@0, ssm@*, attn@windowed, meta-off, ...), in accuracy units. */
  drop: Record<string, Spread>;
  /** Accuracy per ablation id. */
  accuracy: Record<string, Spread>;
  /** Which branch carries the task, per seed (claims.ts `carried_by`). */
  carried_by: string[];
}

export interface TaskClaimsSummary {
  tasks: Record<string, TaskSummary>;
  /** Attention over every text row of the first task's sequences, mean over the attention layers. */
  attention?: {
    prompts: string;
    without_meta: { first: Spread; self: Spread; entropy: Spread };
    with_meta?: { meta: Spread; first: Spread; self: Spread; entropy: Spread };
    /** Entropy with − without meta tokens (nats): negative = meta tokens sharpen attention. */
    entropy_change?: Spread;
  };
  /** Median over a layer's channels of the slowest-state half-life (tokens), per SSM layer. */
  half_life?: Record<string, Spread>;
  /** Attention / SSM output magnitude per hybrid layer's mean: raw, and as they enter the fusion. */
  ratio_raw?: Spread;
  ratio_fused?: Spread;
}

export interface TaskClaimsBlock {
  version: number;
  weights: string;
  seeds: Array<{ seed: number; shipped: boolean } & Claims>;
  summary: TaskClaimsSummary;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export function taskClaimsSummary(seeds: Claims[]): TaskClaimsSummary {
  if (seeds.length === 0) throw new ClaimsError('no seeds to summarise');
  const first = seeds[0];
  const over = (f: (c: Claims) => number) => spread(seeds.map(f));
  const tasks: Record<string, TaskSummary> = {};
  for (const t of first.ablations) {
    const of = (c: Claims) => {
      const found = c.ablations.find((a) => a.task === t.task);
      if (!found) throw new ClaimsError(`a seed has no ablations for task ${t.task}`);
      return found;
    };
    const result = (c: Claims, id: string) => of(c).results.find((r) => r.id === id)!;
    tasks[t.task] = {
      baseline: over((c) => of(c).baseline),
      drop: Object.fromEntries(t.results.map((r) => [r.id, over((c) => result(c, r.id).drop)])),
      accuracy: Object.fromEntries(t.results.map((r) => [r.id, over((c) => result(c, r.id).accuracy)])),
      carried_by: seeds.map((c) => of(c).carried_by),
    };
  }
  const summary: TaskClaimsSummary = { tasks };
  const allRows = (c: Claims) => c.attention.find((a) => a.rows === 'all');
  const a0 = allRows(first);
  if (a0) {
    const at = (c: Claims) => allRows(c)!;
    summary.attention = {
      prompts: a0.prompts,
      without_meta: {
        first: over((c) => at(c).without_meta.mean.first),
        self: over((c) => at(c).without_meta.mean.self),
        entropy: over((c) => at(c).without_meta.mean.entropy),
      },
    };
    if (a0.with_meta) {
      summary.attention.with_meta = {
        meta: over((c) => at(c).with_meta!.mean.meta),
        first: over((c) => at(c).with_meta!.mean.first),
        self: over((c) => at(c).with_meta!.mean.self),
        entropy: over((c) => at(c).with_meta!.mean.entropy),
      };
      summary.attention.entropy_change = over((c) => at(c).with_meta!.mean.entropy - at(c).without_meta.mean.entropy);
    }
  }
  if (first.ssm_half_life.length > 0) {
    summary.half_life = Object.fromEntries(
      first.ssm_half_life[0].layers.map((l) => [
        String(l.layer),
        over((c) => c.ssm_half_life[0].layers.find((m) => m.layer === l.layer)!.slowest_state.median),
      ]),
    );
  }
  const hybrid = first.branch_magnitude[0]?.layers.filter((l) => l.ratio_fused !== null).map((l) => l.layer) ?? [];
  if (hybrid.length > 0) {
    const ratio = (c: Claims, field: 'ratio_raw' | 'ratio_fused') =>
      mean(hybrid.map((i) => c.branch_magnitude[0].layers.find((l) => l.layer === i)![field]!));
    summary.ratio_raw = over((c) => ratio(c, 'ratio_raw'));
    summary.ratio_fused = over((c) => ratio(c, 'ratio_fused'));
  }
  return summary;
}

/** The card's `claims` block from every measured seed (the shipped one marked). */
export function taskClaimsBlock(seeds: Array<{ seed: number; shipped: boolean; claims: Claims }>, weights: string): TaskClaimsBlock {
  const sorted = seeds.slice().sort((a, b) => a.seed - b.seed);
  if (!sorted.some((s) => s.shipped)) throw new ClaimsError('the shipped seed is not among the measured ones');
  return {
    version: TASK_CLAIMS_VERSION,
    weights,
    seeds: sorted.map((s) => ({ seed: s.seed, shipped: s.shipped, ...s.claims })),
    summary: taskClaimsSummary(sorted.map((s) => s.claims)),
  };
}
