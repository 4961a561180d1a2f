// Majority over the whole context: a running-summary task (issue 18). The sequence scatters `evidence` class tokens
// among random distractor tokens; the last `quiet` positions before the end hold distractors only; the last token is
// the query marker, and the model must answer with the class that occurred most often (ties are never generated).
//
//   ids      [ distractors with T class tokens at random positions | quiet tail: distractors only | marker ]
//   target   at the marker (the last position): the most frequent class; no loss anywhere else
//
// Why it separates the designs: the answer needs a count over ~380 tokens that all lie at least `quiet` + 1 tokens
// before the query. A stack of windowed attention layers sees at most layers × (window − 1) tokens back (4 × 31 = 124
// for the zoo's `swa`), all distractors, so it answers at chance (1/classes). A fixed-size SSM state can carry the
// counts (a few accumulators that only class tokens write to: Mamba's selectivity); global attention can too (one
// head averaging over the class tokens gives their histogram). The literature's counting tasks (e.g. majority /
// "most frequent token") are of this kind; this generator is ours, not a published one.
//
// Vocabulary (vocab-512 models): classes 1..16 (a task with K classes uses 1..K), 17..31 unused, distractors
// 32..510 drawn uniformly, marker 511. Level (the `pairs` argument of sample()) = the number of classes K.
// Natural axes: `classes` (K) and `margin` (winner's count − runner-up's, bucketed), both on every answer.

import { Rng } from './rng.ts';
import { TaskError, type Example, type Task } from './types.ts';

export const MAJORITY_LAYOUT = { firstClass: 1, maxClasses: 16, distractors: [32, 511] as [number, number], marker: 511, vocabSize: 512 };

export interface MajorityOptions {
  /** CLI/card name (default 'majority-512'). */
  name?: string;
  seqLen?: number;
  /** Classes per training example: fixed or an inclusive range [min, max] sampled uniformly (2..16). */
  classes?: number | [number, number];
  /** Class tokens per example: an inclusive range [min, max] sampled uniformly. */
  evidence?: [number, number];
  /** Distractor-only positions right before the marker. */
  quiet?: number;
  evalLevels?: number[];
}

export const MAJORITY_512 = {
  seqLen: 512,
  classes: [2, 16] as [number, number],
  evidence: [64, 128] as [number, number],
  quiet: 128,
  evalLevels: [2, 4, 8, 16],
};

/** The synthetic zoo's length (zoo.ts): half the evidence, the same 128-token quiet tail, so the answer still lies
 * beyond what 4 windowed layers of 32 can reach. */
export const MAJORITY_256 = { ...MAJORITY_512, name: 'majority-256', seqLen: 256, evidence: [32, 64] as [number, number] };

/** The synthetic zoo's length (zoo.ts): 128 tokens, classes 2–8, 16–48 class tokens in the first 63 positions, then a
 * 64-token quiet tail, beyond what 4 windowed layers of 16 can reach (4 × 15 = 60). */
export const MAJORITY_128 = {
  name: 'majority-128',
  seqLen: 128,
  classes: [2, 8] as [number, number],
  evidence: [16, 48] as [number, number],
  quiet: 64,
  evalLevels: [2, 4, 8],
};

/** Margin buckets: 1, 2, 3–4, 5–8, 9+ (a count that must be exact vs one a rough estimate gets). */
export function marginBucket(margin: number): string {
  if (margin <= 2) return String(margin);
  if (margin <= 4) return '3-4';
  if (margin <= 8) return '5-8';
  return '9+';
}

export function majorityExample(rng: Rng, classes: number, seqLen = 512, evidence: [number, number] = [64, 128], quiet = 128): Example {
  const { firstClass, maxClasses, distractors, marker } = MAJORITY_LAYOUT;
  if (!Number.isInteger(classes) || classes < 2 || classes > maxClasses) {
    throw new TaskError(`the majority task takes 2..${maxClasses} classes, got ${classes}`);
  }
  if (!Number.isInteger(quiet) || quiet < 0) throw new TaskError(`the quiet tail must be a non-negative integer, got ${quiet}`);
  const body = seqLen - 1 - quiet;
  const [lo, hi] = evidence;
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 2 || hi < lo || hi > body) {
    throw new TaskError(`the majority task needs 2 ≤ evidence min ≤ max ≤ ${body} (seq_len − 1 − quiet), got [${lo}, ${hi}]`);
  }
  const total = rng.int(lo, hi + 1);
  // Draw the classes i.i.d. and redraw until one count is strictly the largest: the answer is always defined,
  // and by symmetry each class wins equally often (a constant guess scores 1/classes).
  let drawn: number[];
  let counts: number[];
  for (;;) {
    drawn = Array.from({ length: total }, () => rng.int(0, classes));
    counts = new Array<number>(classes).fill(0);
    for (const c of drawn) counts[c]++;
    const top = Math.max(...counts);
    if (counts.filter((c) => c === top).length === 1) break;
  }
  const sorted = counts.slice().sort((a, b) => b - a);
  const winner = counts.indexOf(sorted[0]);
  const positions = rng.distinct(0, body, total).sort((a, b) => a - b);
  const ids = new Int32Array(seqLen);
  for (let t = 0; t < seqLen - 1; t++) ids[t] = rng.int(distractors[0], distractors[1]);
  positions.forEach((p, i) => (ids[p] = firstClass + drawn[i]));
  const pos = seqLen - 1;
  ids[pos] = marker;
  const targets = new Int32Array(seqLen).fill(-1);
  targets[pos] = firstClass + winner;
  const last = positions[positions.length - 1];
  const query = {
    pos,
    keyPos: last,
    key: marker,
    value: firstClass + winner,
    distance: pos - last,
    axes: { classes: String(classes), margin: marginBucket(sorted[0] - sorted[1]) },
  };
  return { ids, targets, pairs: classes, queries: [query] };
}

export class MajorityTask implements Task {
  readonly name: string;
  readonly seqLen: number;
  readonly vocabSize = MAJORITY_LAYOUT.vocabSize;
  readonly classes: number | [number, number];
  readonly evidence: [number, number];
  readonly quiet: number;
  readonly levelName = 'classes';
  readonly evalLevels: readonly number[];
  readonly maxTargets = 1;
  constructor(opts: MajorityOptions = {}) {
    this.name = opts.name ?? 'majority-512';
    this.seqLen = opts.seqLen ?? MAJORITY_512.seqLen;
    this.classes = opts.classes ?? MAJORITY_512.classes;
    this.evidence = opts.evidence ?? MAJORITY_512.evidence;
    this.quiet = opts.quiet ?? MAJORITY_512.quiet;
    this.evalLevels = opts.evalLevels ?? MAJORITY_512.evalLevels;
    const range = typeof this.classes === 'number' ? [this.classes, this.classes] : this.classes;
    if (!(range[0] <= range[1])) throw new TaskError(`the majority task: classes [${range.join(', ')}] is not a range`);
    // validates the options
    for (const k of [...range, ...this.evalLevels]) majorityExample(new Rng(0), k, this.seqLen, this.evidence, this.quiet);
  }
  get info(): Record<string, unknown> {
    const { firstClass, distractors, marker } = MAJORITY_LAYOUT;
    return {
      name: this.name,
      seq_len: this.seqLen,
      vocab_size: this.vocabSize,
      classes: [firstClass, firstClass + 16],
      distractors,
      marker,
      train_classes: this.classes,
      eval_classes: this.evalLevels,
      evidence: this.evidence,
      quiet: this.quiet,
    };
  }
  sample(rng: Rng, classes?: number): Example {
    const c = this.classes;
    const k = classes ?? (typeof c === 'number' ? c : rng.int(c[0], c[1] + 1));
    return majorityExample(rng, k, this.seqLen, this.evidence, this.quiet);
  }
}
