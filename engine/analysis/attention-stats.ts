// Where attention goes: per head, the share of each query's attention that lands on the meta tokens, on the first
// real (text) token, on the query itself, and on everything else ("cross"), plus the entropy of the query's
// attention row. These are the categories of the Hymba paper's Fig. 7 (Meta / BOS / Self / Cross) and the entropy of
// its Fig. 15, computed from exact attention probabilities (the `layers.i.attn.probs` tap).
//
// Averages are over query rows. By default those are the text rows after the first text token: on the first text
// row "first" and "self" are the same key, so that row would only ever show "self". Every key of a row falls in
// exactly one category, so meta + first + self + cross = 1 for each row.

import type { Tensor } from '../tensor.ts';

export interface HeadAttentionStats {
  /** Mean attention mass on the meta tokens (keys 0..numMeta−1). */
  meta: number;
  /** Mean mass on the first text token (key firstText): the BOS of a real prompt, the first key of an MQAR prompt. */
  first: number;
  /** Mean mass on the query's own position (the diagonal). */
  self: number;
  /** Mean mass on every other key (so meta + first + self + cross is the row total, 1 for a softmax row). */
  cross: number;
  /** Mean entropy of the attention row, in nats (0 = all mass on one key; ln k = spread evenly over k keys). */
  entropy: number;
}

export interface AttentionStatsOptions {
  /** Number of meta tokens at the start of the sequence (0 when they are off). */
  numMeta: number;
  /** Index of the first text token (default numMeta). */
  firstText?: number;
  /** Query rows to average over (default: firstText + 1 .. N − 1). */
  rows?: number[];
}

export class AttentionStatsError extends Error {
  constructor(message: string) {
    super(`attentionStats: ${message}`);
    this.name = 'AttentionStatsError';
  }
}

/** Per-head statistics of attention probabilities `probs` [H, N, N] (row = query, column = key). */
export function attentionStats(probs: Tensor, opts: AttentionStatsOptions): HeadAttentionStats[] {
  if (probs.shape.length !== 3 || probs.shape[1] !== probs.shape[2]) {
    throw new AttentionStatsError(`expected probabilities of shape [heads, N, N], got [${probs.shape.join(', ')}]`);
  }
  const [H, N] = probs.shape;
  const { numMeta } = opts;
  if (!Number.isInteger(numMeta) || numMeta < 0 || numMeta >= N) {
    throw new AttentionStatsError(`numMeta must be an integer in 0..${N - 1} (the sequence has ${N} positions), got ${numMeta}`);
  }
  const firstText = opts.firstText ?? numMeta;
  if (!Number.isInteger(firstText) || firstText < numMeta || firstText >= N) {
    throw new AttentionStatsError(`firstText must be an integer in ${numMeta}..${N - 1}, got ${firstText}`);
  }
  const rows = opts.rows ?? Array.from({ length: N - firstText - 1 }, (_, i) => firstText + 1 + i);
  if (rows.length === 0) {
    throw new AttentionStatsError(`no query rows to average over (the text has one token; pass rows to include it)`);
  }
  for (const r of rows) {
    if (!Number.isInteger(r) || r < 0 || r >= N) throw new AttentionStatsError(`query row ${r} is outside 0..${N - 1}`);
  }

  const out: HeadAttentionStats[] = [];
  for (let h = 0; h < H; h++) {
    const sum = { meta: 0, first: 0, self: 0, cross: 0, entropy: 0 };
    for (const q of rows) {
      const row = probs.data.subarray((h * N + q) * N, (h * N + q + 1) * N);
      // Each key goes to exactly one category; where they overlap (the first text row: first = self; a meta row:
      // self is a meta token) "self" wins, so the four shares still add up to the row's total.
      for (let k = 0; k < N; k++) {
        const p = row[k];
        if (k === q) sum.self += p;
        else if (k < numMeta) sum.meta += p;
        else if (k === firstText) sum.first += p;
        else sum.cross += p;
        if (p > 0) sum.entropy -= p * Math.log(p);
      }
    }
    const n = rows.length;
    out.push({ meta: sum.meta / n, first: sum.first / n, self: sum.self / n, cross: sum.cross / n, entropy: sum.entropy / n });
  }
  return out;
}

/** The mean of each statistic over heads (e.g. one number per layer for a bar chart). */
export function meanOverHeads(stats: HeadAttentionStats[]): HeadAttentionStats {
  if (stats.length === 0) throw new AttentionStatsError('no heads to average');
  const keys = ['meta', 'first', 'self', 'cross', 'entropy'] as const;
  const mean = { meta: 0, first: 0, self: 0, cross: 0, entropy: 0 };
  for (const s of stats) for (const k of keys) mean[k] += s[k] / stats.length;
  return mean;
}
