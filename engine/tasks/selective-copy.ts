// Selective copying (Mamba paper, §3.1; generator state-spaces/s4 src/dataloaders/datasets/copying.py,
// torch_copying_data with variable = True): M data tokens (1..A−2) scattered at random sorted positions among
// blanks (0), then M marker tokens (A−1); at the i-th marker the model must output the i-th data token.
// The sequence is (L + M) + M tokens long; here seqLen = L + 2M.
//
// Vocabulary (A = vocabSize, 16 as in the Mamba paper; any vocab-512 model reads it): 0 blank, 1..A−2 data,
// A−1 marker. COPY_512 spreads 8–32 tokens over 512 positions, so most tokens sit far beyond a 16/32-token
// window when their marker comes: the span (Query.distance) is the task's natural axis; `order` (which copied
// token, in quarters of the string) is the second.

import { Rng } from './rng.ts';
import { TaskError, type Example, type Query, type Task } from './types.ts';

/** Which quarter of the copied string the i-th of m tokens belongs to ('1/4' … '4/4'). */
export function orderBucket(i: number, m: number): string {
  return `${Math.floor((4 * i) / m) + 1}/4`;
}

export function selectiveCopyExample(rng: Rng, tokens: number, seqLen = 128, vocabSize = 16): Example {
  const body = seqLen - tokens; // L + M slots hold the scattered tokens
  if (!Number.isInteger(tokens) || tokens < 1 || 2 * tokens > seqLen) {
    throw new TaskError(`selective copying with seq_len ${seqLen} copies 1..${seqLen / 2} tokens, got ${tokens}`);
  }
  if (vocabSize < 3) throw new TaskError(`selective copying needs a vocabulary of ≥ 3 (blank, data, marker), got ${vocabSize}`);
  const marker = vocabSize - 1;
  const positions = rng.distinct(0, body, tokens).sort((a, b) => a - b);
  const ids = new Int32Array(seqLen);
  const targets = new Int32Array(seqLen).fill(-1);
  const queries: Query[] = [];
  positions.forEach((p, i) => {
    const token = rng.int(1, vocabSize - 1);
    ids[p] = token;
    const pos = body + i;
    ids[pos] = marker;
    targets[pos] = token;
    queries.push({ pos, keyPos: p, key: marker, value: token, distance: pos - p, axes: { order: orderBucket(i, tokens) } });
  });
  return { ids, targets, pairs: tokens, queries };
}

export interface SelectiveCopyOptions {
  /** CLI/card name (default 'copy'). */
  name?: string;
  seqLen?: number;
  vocabSize?: number;
  /** Tokens to copy at evaluation, and in training unless trainTokens is given. */
  tokens?: number;
  /** Tokens per training example: a fixed number or an inclusive range [min, max] sampled uniformly. */
  trainTokens?: number | [number, number];
  /** Token counts a card and the eval CLI measure by default (default: [tokens]). */
  evalLevels?: number[];
}

/** Selective copying at 512 tokens (issue 18): 8–32 tokens of a 14-symbol alphabet, measured at 8, 16 and 32. */
export const COPY_512: SelectiveCopyOptions = {
  name: 'copy-512',
  seqLen: 512,
  vocabSize: 16,
  tokens: 16,
  trainTokens: [8, 32],
  evalLevels: [8, 16, 32],
};

/** The synthetic zoo's length (zoo.ts): 8–24 tokens spread over 256 positions. */
export const COPY_256: SelectiveCopyOptions = { ...COPY_512, name: 'copy-256', seqLen: 256, trainTokens: [8, 24], evalLevels: [8, 16, 24] };

export class SelectiveCopyTask implements Task {
  readonly name: string;
  readonly seqLen: number;
  readonly vocabSize: number;
  readonly tokens: number;
  readonly trainTokens: number | [number, number];
  readonly levelName = 'tokens';
  readonly evalLevels: readonly number[];
  constructor(opts: SelectiveCopyOptions = {}) {
    this.name = opts.name ?? 'copy';
    this.seqLen = opts.seqLen ?? 128;
    this.vocabSize = opts.vocabSize ?? 16;
    this.tokens = opts.tokens ?? 16;
    this.trainTokens = opts.trainTokens ?? this.tokens;
    this.evalLevels = opts.evalLevels ?? [this.tokens];
    const range = typeof this.trainTokens === 'number' ? [this.trainTokens, this.trainTokens] : this.trainTokens;
    if (!(range[0] <= range[1])) throw new TaskError(`selective copying: trainTokens [${range.join(', ')}] is not a range`);
    // validates the options
    for (const m of [this.tokens, ...range, ...this.evalLevels]) selectiveCopyExample(new Rng(0), m, this.seqLen, this.vocabSize);
  }
  get maxTargets(): number {
    return Math.max(this.tokens, typeof this.trainTokens === 'number' ? this.trainTokens : this.trainTokens[1], ...this.evalLevels);
  }
  get info(): Record<string, unknown> {
    return {
      name: this.name,
      seq_len: this.seqLen,
      vocab_size: this.vocabSize,
      tokens: this.tokens,
      train_tokens: this.trainTokens,
      eval_tokens: this.evalLevels,
      blank: 0,
      data: [1, this.vocabSize - 1],
      marker: this.vocabSize - 1,
    };
  }
  sample(rng: Rng, tokens?: number): Example {
    const t = this.trainTokens;
    const m = tokens ?? (typeof t === 'number' ? t : rng.int(t[0], t[1] + 1));
    return selectiveCopyExample(rng, m, this.seqLen, this.vocabSize);
  }
}
