// The English evaluators: unigram/bigram baselines, the text-loss evaluator and in-context recall on text, checked
// against predictors whose answers are known (a count-based bigram model, a copy-from-context oracle).
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../engine/tasks/rng.ts';
import { BIGRAM_KS, ngramBaselines } from '../engine/text/baselines.ts';
import { BOS_ID } from '../engine/text/bpe-train.ts';
import { loadEnglishData, type EnglishData } from '../engine/text/english.node.ts';
import { textLoss, type LogitsFn } from '../engine/text/lm-eval.ts';
import { FactRecallTask, RepeatedPassageTask, textRecall } from '../engine/text/recall-text.ts';

let data: EnglishData;
let V: number;
beforeAll(async () => {
  data = await loadEnglishData({ seqLen: 128 });
  V = data.tokenizer.vocabSize;
}, 60_000);

/** A model that predicts from bigram counts of the training stream (add-k), as logits = log-probabilities. */
function bigramModel(k: number): LogitsFn {
  const counts = new Float64Array(V * V);
  const s = data.trainStream;
  for (let i = 0; i + 1 < s.ids.length; i++) counts[s.ids[i] * V + s.ids[i + 1]]++;
  for (const start of s.sentenceStarts) counts[BOS_ID * V + s.ids[start]]++;
  return async (ids) => {
    const out = new Float32Array(ids.length * V);
    ids.forEach((prev, t) => {
      let total = 0;
      for (let v = 0; v < V; v++) total += counts[prev * V + v] + k;
      for (let v = 0; v < V; v++) out[t * V + v] = Math.log((counts[prev * V + v] + k) / total);
    });
    return out;
  };
}

/**
 * A copy-from-context oracle: find the longest earlier match of the text's latest tokens and predict what followed
 * it (an idealised induction head); where nothing matches, predict token 4.
 */
const copyOracle: LogitsFn = async (ids) => {
  const out = new Float32Array(ids.length * V);
  for (let t = 0; t < ids.length; t++) {
    let best = -1;
    let bestLen = 0;
    for (let j = t - 1; j >= 0; j--) {
      let len = 0;
      while (len <= j && ids[j - len] === ids[t - len]) len++;
      if (len > bestLen) {
        bestLen = len;
        best = j + 1;
      }
    }
    out[t * V + (best >= 0 ? ids[best] : 4)] = 10;
  }
  return out;
};

describe('n-gram baselines', () => {
  it('bigram beats unigram on validation, and both are far below uniform', () => {
    const b = ngramBaselines(data.trainStream, data.validation);
    expect(b.tokens).toBe(data.validation.length * 128);
    expect(b.bigram.perplexity).toBeLessThan(b.unigram.perplexity);
    expect(b.unigram.perplexity).toBeLessThan(V / 2);
    expect(b.bigram.perplexity).toBeGreaterThan(20); // English is not that predictable from one token
    expect(BIGRAM_KS).toContain(b.bigram.k);
    expect(b.unigram.perplexity).toBeCloseTo(Math.exp(b.unigram.loss), 6);
  });

  it('textLoss of a count-based bigram model equals the bigram baseline (two implementations agree)', async () => {
    const b = ngramBaselines(data.trainStream, data.validation.slice(0, 20));
    const scored = await textLoss(bigramModel(b.bigram.k), V, data.validation.slice(0, 20));
    expect(scored.tokens).toBe(b.tokens);
    expect(scored.loss).toBeCloseTo(b.bigram.loss, 4);
  }, 60_000);
});

describe('in-context recall on text', () => {
  it('repeated passage: the same passages on either copy, scored on tokens 2… of each', () => {
    const P = 20;
    const first = new RepeatedPassageTask(data.validationStream, P, 'first').sample(new Rng(9));
    const second = new RepeatedPassageTask(data.validationStream, P, 'second').sample(new Rng(9));
    expect(Array.from(first.ids)).toEqual(Array.from(second.ids));
    expect(first.ids).toHaveLength(1 + 2 * P);
    expect(Array.from(first.ids.subarray(1, 1 + P))).toEqual(Array.from(first.ids.subarray(1 + P)));
    expect(first.queries).toHaveLength(P - 1);
    for (const ex of [first, second])
      for (const q of ex.queries) {
        expect(ex.ids[q.pos + 1]).toBe(q.value);
        expect(ex.targets[q.pos]).toBe(q.value);
      }
    expect(second.queries.every((q) => q.pos >= P && q.distance === P - 1 && first.ids[q.keyPos] === q.value)).toBe(true);
    // padded to a training graph's length: same tokens, then <pad>, nothing scored there
    const padded = new RepeatedPassageTask(data.validationStream, P, 'second', 48).sample(new Rng(9));
    expect(Array.from(padded.ids.subarray(0, 1 + 2 * P))).toEqual(Array.from(second.ids));
    expect(Array.from(padded.ids.subarray(1 + 2 * P))).toEqual(new Array(48 - 1 - 2 * P).fill(0));
    expect(Array.from(padded.targets.subarray(2 * P))).toEqual(new Array(48 - 2 * P).fill(-1));
    expect(() => new RepeatedPassageTask(data.validationStream, P, 'first', 40)).toThrow(/seqLen ≥ 41/);
  });

  it('facts: the answer follows the question, and the fact stating it sits at keyPos (absent in the control)', () => {
    const task = new FactRecallTask(data.tokenizer);
    const control = new FactRecallTask(data.tokenizer, { control: true });
    for (let seed = 0; seed < 20; seed++) {
      const ex = task.sample(new Rng(seed), 4);
      const text = data.tokenizer.decode(Array.from(ex.ids));
      expect(text).toMatch(/^(.+ (lives in|has a) [A-Za-z]+\. ){4}(Where|What) does .+\?/);
      for (const q of ex.queries) expect(ex.ids[q.keyPos]).toBe(q.value);
      const answer = ex.queries.map((q) => q.value);
      expect(Array.from(ex.ids.subarray(ex.queries[0].pos + 1, ex.queries[0].pos + 1 + answer.length))).toEqual(answer);
      // the control asks the same question with the asked person's fact replaced: the answer is nowhere before it
      const c = control.sample(new Rng(seed), 4);
      const cText = data.tokenizer.decode(Array.from(c.ids));
      const [facts, question] = cText.split(/ (?=(?:Where|What) does)/);
      expect(question).toBe(text.split(/ (?=(?:Where|What) does)/)[1]);
      const answerWord = question.split(' ').at(-1)!;
      expect(facts.split(/[ .]/)).not.toContain(answerWord);
      expect(Array.from(c.ids.subarray(0, c.queries[0].pos - 6))).not.toContain(c.queries[0].value);
    }
  });

  it('scores a copy-from-context oracle near 100 % on second copies and stated facts, near 0 on first copies and controls', async () => {
    const r = await textRecall(copyOracle, data.tokenizer, data.validationStream, { n: 20, factCounts: [2, 8] });
    expect(r.repeat.second.accuracy).toBeGreaterThan(0.95);
    expect(r.repeat.first.accuracy).toBeLessThan(0.3);
    expect(r.repeat.accuracy_gain).toBeGreaterThan(0.65);
    expect(r.repeat.loss_drop).toBeGreaterThan(0);
    for (const count of ['2', '8']) {
      expect(r.facts[count].answer_first_token.accuracy).toBe(1);
      expect(r.facts[count].control_first_token.accuracy).toBe(0);
      expect(r.facts[count].chance).toBe(1 / Number(count));
    }
  }, 60_000);

  it('scores the bigram model the same on both copies: no context, no gain', async () => {
    const b = ngramBaselines(data.trainStream, data.validation.slice(0, 1));
    const r = await textRecall(bigramModel(b.bigram.k), data.tokenizer, data.validationStream, { n: 10, factCounts: [4] });
    expect(r.repeat.second.accuracy).toBeCloseTo(r.repeat.first.accuracy, 6);
    expect(r.facts['4'].gain).toBeLessThan(0.35);
  }, 120_000);
});
