// Multi-query associative recall (MQAR), following Zoology's `multiquery_ar`
// (HazyResearch/zoology, zoology/data/multiquery_ar.py, random_non_queries = False):
//
//   context  k1 v1 k2 v2 … kn vn             keys distinct from [1, V/2), values distinct from [V/2, V)
//   queries  the n keys again, each at position 2n + 2·gap, gaps drawn without replacement with
//            p(gap = x) ∝ x^(a − 1), x = 1..(L − 2n)/2, a = power_a = 0.01 (short gaps are favoured)
//   blanks   0 everywhere else
//   labels   at each query position, the key's value (the model predicts it right after reading the key);
//            no loss anywhere else
//
// The lesson benchmark MQAR-128 is this with L = 128, V = 512 (keys 1..255, values 256..511), 4–24 pairs.
// MQAR-512 (issue 18) is the same layout at L = 512 with 16–64 pairs, so that most keys lie beyond a 16- or 32-token
// window (Zoology's Figure 2 goes to L = 512 with 64 pairs). Zoology asserts V > L; nothing in the layout needs it
// (the generator needs pairs ≤ V/2 − 1 distinct keys and ≤ V/2 values), so MQAR-512 at V = 512 turns it off.

import { Rng } from './rng.ts';
import { TaskError, type Example, type Query, type Task } from './types.ts';

export interface MqarOptions {
  seqLen?: number;
  vocabSize?: number;
  /** Pairs per example when training: a fixed number or an inclusive range [min, max] sampled uniformly. */
  pairs?: number | [number, number];
  powerA?: number;
  /** Zoology's assertion vocab_size > seq_len (default true); MQAR-512 at vocab 512 turns it off. */
  strictVocab?: boolean;
  /** The CLI/card name (default 'mqar'). */
  name?: string;
  /** Pairs a card and the eval CLI measure by default. */
  evalLevels?: number[];
}

export const MQAR_128 = { seqLen: 128, vocabSize: 512, pairs: [4, 24] as [number, number], powerA: 0.01, evalLevels: [4, 8, 16, 24] };
export const MQAR_512: MqarOptions = {
  name: 'mqar-512',
  seqLen: 512,
  vocabSize: 512,
  pairs: [16, 64],
  powerA: 0.01,
  strictVocab: false,
  evalLevels: [16, 32, 48, 64],
};

/** The synthetic zoo's length (zoo.ts): MQAR at 256 tokens with 8–32 pairs. */
export const MQAR_256: MqarOptions = { ...MQAR_512, name: 'mqar-256', seqLen: 256, pairs: [8, 32], evalLevels: [8, 16, 24, 32] };

/** Power-law weights over gap indices 0..space−1 (Zoology: p ∝ a·x^(a−1) for x = index + 1). */
function gapWeights(space: number, a: number): number[] {
  return Array.from({ length: space }, (_, i) => a * (i + 1) ** (a - 1));
}

/** Draw `count` distinct indices with the given weights (successive sampling, as numpy's choice(replace=False)). */
function weightedDistinct(rng: Rng, weights: number[], count: number): number[] {
  const w = weights.slice();
  const out: number[] = [];
  for (let k = 0; k < count; k++) {
    let total = 0;
    for (const x of w) total += x;
    let r = rng.uniform() * total;
    let i = 0;
    while (i < w.length - 1 && (r >= w[i] || w[i] === 0)) {
      r -= w[i];
      i++;
    }
    out.push(i);
    w[i] = 0;
  }
  return out;
}

export function mqarExample(rng: Rng, pairs: number, seqLen = 128, vocabSize = 512, powerA = 0.01, strictVocab = true): Example {
  const half = Math.floor(vocabSize / 2);
  if (seqLen % 2 !== 0) throw new TaskError(`MQAR needs an even sequence length, got ${seqLen}`);
  if (strictVocab && vocabSize <= seqLen)
    throw new TaskError(`MQAR needs vocab_size > seq_len (Zoology's assertion), got ${vocabSize} ≤ ${seqLen}`);
  if (!Number.isInteger(pairs) || pairs < 1 || 4 * pairs > seqLen) {
    throw new TaskError(`MQAR with seq_len ${seqLen} takes 1..${seqLen / 4} pairs, got ${pairs}`);
  }
  if (pairs > half - 1) throw new TaskError(`MQAR with vocab ${vocabSize} has only ${half - 1} keys, asked for ${pairs} pairs`);
  const keys = rng.distinct(1, half, pairs);
  const values = rng.distinct(half, vocabSize, pairs);
  const ctx = 2 * pairs;
  const space = (seqLen - ctx) / 2;
  const gaps = weightedDistinct(rng, gapWeights(space, powerA), pairs);
  const ids = new Int32Array(seqLen);
  const targets = new Int32Array(seqLen).fill(-1);
  const queries: Query[] = [];
  for (let j = 0; j < pairs; j++) {
    ids[2 * j] = keys[j];
    ids[2 * j + 1] = values[j];
  }
  for (let j = 0; j < pairs; j++) {
    const pos = ctx + 2 * gaps[j];
    ids[pos] = keys[j];
    targets[pos] = values[j];
    queries.push({ pos, keyPos: 2 * j, key: keys[j], value: values[j], distance: pos - 2 * j });
  }
  queries.sort((a, b) => a.pos - b.pos);
  return { ids, targets, pairs, queries };
}

export class MqarTask implements Task {
  readonly name: string;
  readonly seqLen: number;
  readonly vocabSize: number;
  readonly pairs: number | [number, number];
  readonly powerA: number;
  readonly strictVocab: boolean;
  readonly levelName = 'pairs';
  readonly evalLevels: readonly number[];
  constructor(opts: MqarOptions = {}) {
    this.name = opts.name ?? 'mqar';
    this.seqLen = opts.seqLen ?? MQAR_128.seqLen;
    this.vocabSize = opts.vocabSize ?? MQAR_128.vocabSize;
    this.pairs = opts.pairs ?? MQAR_128.pairs;
    this.powerA = opts.powerA ?? MQAR_128.powerA;
    this.strictVocab = opts.strictVocab ?? true;
    this.evalLevels = opts.evalLevels ?? MQAR_128.evalLevels;
    mqarExample(new Rng(0), this.maxPairs, this.seqLen, this.vocabSize, this.powerA, this.strictVocab); // validates the options
    for (const p of opts.evalLevels ?? []) mqarExample(new Rng(0), p, this.seqLen, this.vocabSize, this.powerA, this.strictVocab);
  }
  get maxPairs(): number {
    return typeof this.pairs === 'number' ? this.pairs : this.pairs[1];
  }
  get maxTargets(): number {
    return this.maxPairs;
  }
  get info(): Record<string, unknown> {
    const half = Math.floor(this.vocabSize / 2);
    return {
      name: this.name,
      seq_len: this.seqLen,
      vocab_size: this.vocabSize,
      keys: [1, half],
      values: [half, this.vocabSize],
      blank: 0,
      power_a: this.powerA,
      train_pairs: this.pairs,
      eval_pairs: this.evalLevels,
    };
  }
  sample(rng: Rng, pairs?: number): Example {
    const n = pairs ?? (typeof this.pairs === 'number' ? this.pairs : rng.int(this.pairs[0], this.pairs[1] + 1));
    return mqarExample(rng, n, this.seqLen, this.vocabSize, this.powerA, this.strictVocab);
  }
}
