// In-context recall on English text (browser-safe): does a language model use what was said earlier in its prompt?
//
// Two probes, each a Task (so graphRecall / engineRecall in engine/train/trainer.ts score them too):
//  - RepeatedPassageTask: <s> + a validation passage + the same passage again. A model that only knows English
//    predicts both copies equally well; one that copies from context (an induction head) predicts the second copy
//    far better. copy 'first' / 'second' scores the same passages on either copy (same seed → same passages).
//  - FactRecallTask: "Mary Smith lives in Boston. John Reed lives in Paris. … Where does Mary Smith live? Mary Smith
//    lives in Boston" — scored on the answer's tokens (teacher-forced); the first answer token is the recall, the
//    rest mostly spelling. `control` leaves the asked person's fact out (replaced by another person's), so the
//    answer appears nowhere: the accuracy a model gets from English alone.
import type { Tokenizer } from '../tokenizer/tokenizer.ts';
import type { Rng } from '../tasks/rng.ts';
import { TaskError, type Example, type Query, type Task } from '../tasks/types.ts';
import { evalExamples } from '../train/trainer.ts';
import { BOS_ID, PAD_ID } from './bpe-train.ts';
import type { TokenStream } from './lm-data.ts';
import { tokenLoss, type LogitsFn } from './lm-eval.ts';

export class RepeatedPassageTask implements Task {
  readonly name: string;
  readonly seqLen: number;
  readonly vocabSize: number;
  readonly maxTargets: number;
  readonly info: Record<string, unknown>;
  private readonly stream: TokenStream;
  private readonly passage: number;
  private readonly copy: 'first' | 'second';
  private readonly usable: number;

  /** `seqLen` (default 1 + 2 · passageTokens) pads with <pad> after the second copy, to match a training graph's length. */
  constructor(stream: TokenStream, passageTokens: number, copy: 'first' | 'second', seqLen = 1 + 2 * passageTokens) {
    if (!Number.isInteger(passageTokens) || passageTokens < 2) throw new TaskError(`a passage needs ≥ 2 tokens, got ${passageTokens}`);
    if (seqLen < 1 + 2 * passageTokens)
      throw new TaskError(`two copies of ${passageTokens} tokens after <s> need seqLen ≥ ${1 + 2 * passageTokens}, got ${seqLen}`);
    this.stream = stream;
    this.passage = passageTokens;
    this.copy = copy;
    this.seqLen = seqLen;
    this.vocabSize = stream.vocabSize;
    this.maxTargets = passageTokens - 1;
    let usable = stream.sentenceStarts.length;
    while (usable > 0 && stream.sentenceStarts[usable - 1] + passageTokens > stream.ids.length) usable--;
    if (usable === 0) throw new TaskError(`the stream holds no passage of ${passageTokens} tokens`);
    this.usable = usable;
    this.name = `repeat-${copy}`;
    this.info = { task: 'repeated-passage', passage_tokens: passageTokens, scored_copy: copy };
  }

  /** A passage from a random sentence start, twice; queries on tokens 2… of the scored copy (`pairs` ignored). */
  sample(rng: Rng): Example {
    const P = this.passage;
    const start = this.stream.sentenceStarts[rng.int(0, this.usable)];
    const passage = this.stream.ids.subarray(start, start + P);
    const ids = new Int32Array(this.seqLen).fill(PAD_ID);
    ids[0] = BOS_ID;
    ids.set(passage, 1);
    ids.set(passage, 1 + P);
    const targets = new Int32Array(this.seqLen).fill(-1);
    const queries: Query[] = [];
    for (let i = 1; i < P; i++) {
      // position predicting passage[i]: i in the first copy, P + i in the second (whose source is at 1 + i)
      const pos = this.copy === 'first' ? i : P + i;
      const keyPos = this.copy === 'first' ? pos : 1 + i;
      targets[pos] = passage[i];
      queries.push({ pos, keyPos, key: ids[pos], value: passage[i], distance: pos - keyPos });
    }
    return { ids, targets, pairs: 0, queries };
  }
}

/** Candidate people and the two relations; answers are filtered so that each one's first token is its own. */
const FIRST_NAMES = [
  'Mary',
  'John',
  'James',
  'Robert',
  'William',
  'Helen',
  'George',
  'Frank',
  'David',
  'Paul',
  'Henry',
  'Alice',
  'Peter',
  'Ruth',
  'Martha',
  'Walter',
];
const LAST_NAMES = ['Smith', 'Brown', 'Miller', 'Clark', 'Lewis', 'Hall', 'Young', 'King', 'Scott', 'Green', 'Baker', 'Adams'];
const RELATIONS = [
  {
    name: 'lives_in',
    fact: (who: string, what: string) => `${who} lives in ${what}.`,
    question: (who: string) => `Where does ${who} live? ${who} lives in`,
    answers: [
      'Boston',
      'London',
      'Paris',
      'Chicago',
      'Washington',
      'Texas',
      'Rome',
      'Berlin',
      'Moscow',
      'Europe',
      'Africa',
      'China',
      'Japan',
      'France',
      'England',
      'Mexico',
      'Canada',
      'Italy',
      'Virginia',
      'Georgia',
      'Denver',
      'Dallas',
      'Miami',
      'Ohio',
    ],
  },
  {
    name: 'has_a',
    fact: (who: string, what: string) => `${who} has a ${what}.`,
    question: (who: string) => `What does ${who} have? ${who} has a`,
    answers: [
      'car',
      'house',
      'book',
      'dog',
      'horse',
      'boat',
      'gun',
      'farm',
      'hat',
      'bag',
      'cup',
      'pen',
      'bed',
      'ball',
      'bird',
      'box',
      'coat',
      'ring',
      'knife',
      'chair',
      'table',
      'clock',
      'door',
      'map',
      'lamp',
      'pipe',
      'radio',
      'camera',
      'piano',
    ],
  },
] as const;

export class FactRecallTask implements Task {
  readonly name: string;
  readonly seqLen: number;
  readonly vocabSize: number;
  readonly maxTargets = 8;
  readonly info: Record<string, unknown>;
  private readonly tokenizer: Tokenizer;
  private readonly control: boolean;
  private readonly people: string[];
  /** Per relation, answers whose first tokens are all different (so the first token names the answer). */
  private readonly answers: string[][];
  private readonly defaultFacts: number;

  constructor(tokenizer: Tokenizer, opts: { seqLen?: number; facts?: number; control?: boolean } = {}) {
    this.tokenizer = tokenizer;
    this.seqLen = opts.seqLen ?? 128;
    this.vocabSize = tokenizer.vocabSize;
    this.control = opts.control ?? false;
    this.defaultFacts = opts.facts ?? 4;
    this.people = FIRST_NAMES.flatMap((f, i) => LAST_NAMES.filter((_, j) => (i + j) % 3 === 0).map((l) => `${f} ${l}`));
    // An answer's first token must not occur in any name or template word, so the control's context never holds it.
    const taken = new Set(
      [...this.people, ...RELATIONS.flatMap((r) => [r.fact('', 'x'), r.question('')])].flatMap((t) =>
        tokenizer.encode(t, { addBos: false }),
      ),
    );
    this.answers = RELATIONS.map((r) => {
      const seen = new Set<number>(taken);
      return r.answers.filter((a) => {
        const first = tokenizer.encode(a, { addBos: false })[0];
        if (seen.has(first)) return false;
        seen.add(first);
        return true;
      });
    });
    this.name = this.control ? 'facts-control' : 'facts';
    this.info = { task: 'fact-recall', seq_len: this.seqLen, control: this.control, relations: RELATIONS.map((r) => r.name) };
  }

  /** `pairs` facts of one relation about different people, then a question about one of them, answered. */
  sample(rng: Rng, pairs = this.defaultFacts): Example {
    const r = rng.int(0, RELATIONS.length);
    const relation = RELATIONS[r];
    const answers = this.answers[r];
    if (pairs < 1 || pairs + 1 > Math.min(answers.length, this.people.length))
      throw new TaskError(`facts must be 1..${Math.min(answers.length, this.people.length) - 1}, got ${pairs}`);
    const people = rng.distinct(0, this.people.length, pairs + 1).map((i) => this.people[i]);
    const things = rng.distinct(0, answers.length, pairs + 1).map((i) => answers[i]);
    const asked = rng.int(0, pairs);
    // In the control, the asked person's fact is about the spare person instead: the answer is nowhere in context.
    const stated = people.slice(0, pairs).map((p, i) => (this.control && i === asked ? people[pairs] : p));
    const ids: number[] = [BOS_ID];
    let answerPos = -1;
    stated.forEach((who, i) => {
      const before = ids.length + this.encode(relation.fact(who, '').slice(0, -1).trimEnd()).length; // the words before the answer
      ids.push(...this.encode(relation.fact(who, this.control && i === asked ? things[pairs] : things[i])));
      if (i === asked) answerPos = before;
    });
    ids.push(...this.encode(relation.question(people[asked])));
    const answer = this.encode(things[asked]);
    const queries: Query[] = answer.map((value, j) => {
      const pos = ids.length - 1 + j; // the position whose next token is answer[j]
      const keyPos = answerPos + j;
      return { pos, keyPos, key: j === 0 ? ids[pos] : answer[j - 1], value, distance: pos - keyPos };
    });
    ids.push(...answer);
    if (ids.length > this.seqLen) throw new TaskError(`${pairs} facts take ${ids.length} tokens, more than seqLen ${this.seqLen}`);
    const padded = new Int32Array(this.seqLen).fill(PAD_ID);
    padded.set(ids);
    const targets = new Int32Array(this.seqLen).fill(-1);
    for (const q of queries) targets[q.pos] = q.value;
    return { ids: padded, targets, pairs, queries };
  }

  /** Tokens of a text piece that follows a space (every piece here does). */
  private encode(text: string): number[] {
    return this.tokenizer.encode(text, { addBos: false });
  }
}

export interface CopyScore {
  /** Argmax accuracy over the scored tokens. */
  accuracy: number;
  /** Mean loss, nats per scored token. */
  loss: number;
  tokens: number;
}

/** Accuracy and loss of `logitsOf` on every query of `examples`; `firstOnly` scores each example's first query. */
export async function scoreQueries(logitsOf: LogitsFn, vocabSize: number, examples: Example[], firstOnly = false): Promise<CopyScore> {
  let correct = 0;
  let nats = 0;
  let tokens = 0;
  for (const ex of examples) {
    const logits = await logitsOf(ex.ids);
    for (const q of firstOnly ? ex.queries.slice(0, 1) : ex.queries) {
      let best = 0;
      for (let v = 1; v < vocabSize; v++) if (logits[q.pos * vocabSize + v] > logits[q.pos * vocabSize + best]) best = v;
      correct += best === q.value ? 1 : 0;
      nats += tokenLoss(logits, q.pos, vocabSize, q.value);
      tokens++;
    }
  }
  return { accuracy: correct / tokens, loss: nats / tokens, tokens };
}

export interface TextRecallReport {
  repeat: { passage_tokens: number; examples: number; first: CopyScore; second: CopyScore; accuracy_gain: number; loss_drop: number };
  facts: Record<string, { answer_first_token: CopyScore; control_first_token: CopyScore; chance: number; gain: number }>;
}

export interface TextRecallOptions {
  passageTokens?: number;
  /** Examples per measurement. */
  n?: number;
  factCounts?: number[];
  seqLen?: number;
  seed?: number;
}

/**
 * Both probes on a model (any LogitsFn, e.g. engineLogits(engine)), on the validation split. Fact recall is scored
 * on the answer's first token, against the same prompts without the asked fact (control) and chance (1 / facts).
 */
export async function textRecall(
  logitsOf: LogitsFn,
  tokenizer: Tokenizer,
  validation: TokenStream,
  opts: TextRecallOptions = {},
): Promise<TextRecallReport> {
  const V = tokenizer.vocabSize;
  const seqLen = opts.seqLen ?? 128;
  const P = opts.passageTokens ?? Math.floor((seqLen - 1) / 2);
  const n = opts.n ?? 100;
  const seed = opts.seed ?? 20_251_207;
  const first = await scoreQueries(logitsOf, V, evalExamples(new RepeatedPassageTask(validation, P, 'first', seqLen), 0, n, seed));
  const second = await scoreQueries(logitsOf, V, evalExamples(new RepeatedPassageTask(validation, P, 'second', seqLen), 0, n, seed));
  const facts: TextRecallReport['facts'] = {};
  for (const count of opts.factCounts ?? [2, 4, 8]) {
    const answer = await scoreQueries(logitsOf, V, evalExamples(new FactRecallTask(tokenizer, { seqLen }), count, n, seed), true);
    const control = await scoreQueries(
      logitsOf,
      V,
      evalExamples(new FactRecallTask(tokenizer, { seqLen, control: true }), count, n, seed),
      true,
    );
    facts[count] = {
      answer_first_token: answer,
      control_first_token: control,
      chance: 1 / count,
      gain: answer.accuracy - control.accuracy,
    };
  }
  return {
    repeat: {
      passage_tokens: P,
      examples: n,
      first,
      second,
      accuracy_gain: second.accuracy - first.accuracy,
      loss_drop: first.loss - second.loss,
    },
    facts,
  };
}
