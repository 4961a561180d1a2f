// Selective copying (Mamba paper, §3.1; generator state-spaces/s4 src/dataloaders/datasets/copying.py,
// torch_copying_data with variable = True): M data tokens (1..A−2) scattered at random sorted positions among
// blanks (0), then M marker tokens (A−1); at the i-th marker the model must output the i-th data token.
// The sequence is (L + M) + M tokens long; here seqLen = L + 2M.

import { Rng } from './rng.ts';
import { TaskError, type Example, type Query, type Task } from './types.ts';

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
    queries.push({ pos, keyPos: p, key: marker, value: token, distance: pos - p });
  });
  return { ids, targets, pairs: tokens, queries };
}

export class SelectiveCopyTask implements Task {
  readonly name = 'copy';
  readonly seqLen: number;
  readonly vocabSize: number;
  readonly tokens: number;
  constructor(opts: { seqLen?: number; vocabSize?: number; tokens?: number } = {}) {
    this.seqLen = opts.seqLen ?? 128;
    this.vocabSize = opts.vocabSize ?? 16;
    this.tokens = opts.tokens ?? 16;
    selectiveCopyExample(new Rng(0), this.tokens, this.seqLen, this.vocabSize); // validates the options
  }
  get maxTargets(): number {
    return this.tokens;
  }
  get info(): Record<string, unknown> {
    return { name: 'copy', seq_len: this.seqLen, vocab_size: this.vocabSize, tokens: this.tokens, blank: 0, marker: this.vocabSize - 1 };
  }
  sample(rng: Rng, tokens?: number): Example {
    return selectiveCopyExample(rng, tokens ?? this.tokens, this.seqLen, this.vocabSize);
  }
}
