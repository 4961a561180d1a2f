// Count-based baselines for the English models (browser-safe): unigram and add-k bigram next-token loss, scored on
// the same validation windows (lm-data.ts validationWindows) and tokenization as the models, so a card can say
// "val ppl P vs unigram U / bigram B".
//
// Counts come from the training stream as the training windows see it: every adjacent pair of the stream, and
// (<s>, first token) for every sentence start, since each window begins <s> + a sentence.
import type { Example } from '../tasks/types.ts';
import { BOS_ID } from './bpe-train.ts';
import type { TokenStream } from './lm-data.ts';

export interface BaselineScore {
  /** Mean next-token cross-entropy, nats per token. */
  loss: number;
  perplexity: number;
}

export interface Baselines {
  /** Scored positions (every target ≥ 0 of the validation windows). */
  tokens: number;
  unigram: BaselineScore & { k: number };
  bigram: BaselineScore & { k: number };
}

/** The add-k values tried for the bigram; the best on the scored windows is reported (the baseline's best case). */
export const BIGRAM_KS = [1, 0.3, 0.1, 0.03, 0.01, 0.003];

const score = (nats: number, tokens: number): BaselineScore => ({ loss: nats / tokens, perplexity: Math.exp(nats / tokens) });

/** Unigram (add-1) and bigram (add-k, k from BIGRAM_KS) validation loss and perplexity. */
export function ngramBaselines(train: TokenStream, validation: Example[]): Baselines {
  const V = train.vocabSize;
  const unigram = new Float64Array(V);
  for (const id of train.ids) unigram[id]++;
  // Bigram counts in a Map keyed prev · V + next; the row totals are the prev token's outgoing pair count.
  const pair = new Map<number, number>();
  const rowTotal = new Float64Array(V);
  const addPair = (a: number, b: number) => {
    pair.set(a * V + b, (pair.get(a * V + b) ?? 0) + 1);
    rowTotal[a]++;
  };
  for (let i = 0; i + 1 < train.ids.length; i++) addPair(train.ids[i], train.ids[i + 1]);
  for (const s of train.sentenceStarts) addPair(BOS_ID, train.ids[s]);

  const scored: Array<[number, number]> = [];
  for (const ex of validation) for (let t = 0; t < ex.targets.length; t++) if (ex.targets[t] >= 0) scored.push([ex.ids[t], ex.targets[t]]);
  if (scored.length === 0) throw new RangeError('ngramBaselines: the validation windows score no token');

  const total = train.ids.length;
  let uni = 0;
  for (const [, next] of scored) uni -= Math.log((unigram[next] + 1) / (total + V));

  let best: BaselineScore & { k: number } = { loss: Infinity, perplexity: Infinity, k: NaN };
  for (const k of BIGRAM_KS) {
    let nats = 0;
    for (const [prev, next] of scored) nats -= Math.log(((pair.get(prev * V + next) ?? 0) + k) / (rowTotal[prev] + k * V));
    const s = score(nats, scored.length);
    if (s.loss < best.loss) best = { ...s, k };
  }
  return { tokens: scored.length, unigram: { ...score(uni, scored.length), k: 1 }, bigram: best };
}
