// The headline metrics of a zoo card: a few named numbers per seed, each defined once here so that the card
// (measured on the GPU right after training) and test/recall-zoo.test.ts (recomputed on the CPU engine on fresh
// sequences) compute the same thing. Browser-safe.
import { RecallScore, DISTANCE_EDGES } from '../tasks/distance.ts';
import { taskByName } from '../tasks/index.ts';
import type { Task } from '../tasks/types.ts';

export interface Headline {
  /** The metric's name in card.metrics / card.seeds[i].metrics. */
  key: string;
  /** engine/tasks name (taskByName). */
  task: string;
  /** The difficulty level (pairs, tokens, classes). */
  level: number;
  /** Count only answers whose key lies at least this far back (a DISTANCE_EDGES value). */
  minDistance?: number;
  /** What a reader reads in the docs' tables. */
  label: string;
  /** Accuracy of a guess that ignores the context's content, where one exists (the floor a model must beat). */
  chance?: number;
}

/** The synthetic zoo's headlines. MQAR far: keys ≥ 64 tokens back, beyond what 4 windowed layers of 16 can reach
 * (4 × 15 = 60). */
export const SYNTHETIC_HEADLINES: Headline[] = [
  { key: 'mqar', task: 'mqar', level: 16, label: 'MQAR-128, 16 pairs' },
  { key: 'mqar_far', task: 'mqar', level: 16, minDistance: 64, label: 'MQAR-128, 16 pairs, key ≥ 64 back' },
  { key: 'copy', task: 'copy', level: 16, label: 'selective copy, 16 tokens in 128' },
  { key: 'majority', task: 'majority-128', level: 4, label: 'majority of 4 classes (128 tokens)', chance: 0.25 },
];

export function headlineTask(h: Headline): Task {
  return taskByName(h.task);
}

/** A headline's value from the score of its task at its level. */
export function headlineValue(h: Headline, score: RecallScore): number {
  if (h.minDistance === undefined) return score.accuracy();
  if (!DISTANCE_EDGES.includes(h.minDistance)) throw new Error(`minDistance ${h.minDistance} is not a distance bucket edge`);
  let correct = 0;
  let total = 0;
  for (const [name, t] of score.byDistance) {
    if (parseInt(name, 10) >= h.minDistance) {
      correct += t.correct;
      total += t.total;
    }
  }
  return total === 0 ? NaN : correct / total;
}

/** Mean, min and max of each metric over seeds. */
export function spread(seeds: Array<{ metrics: Record<string, number> }>): Record<string, { mean: number; min: number; max: number }> {
  const out: Record<string, { mean: number; min: number; max: number }> = {};
  for (const key of Object.keys(seeds[0]?.metrics ?? {})) {
    const xs = seeds.map((s) => s.metrics[key]).filter((x) => Number.isFinite(x));
    if (xs.length === 0) continue;
    const r = (x: number) => Number(x.toFixed(4));
    out[key] = { mean: r(xs.reduce((a, b) => a + b, 0) / xs.length), min: r(Math.min(...xs)), max: r(Math.max(...xs)) };
  }
  return out;
}

/** The English zoo's text-recall probes (engine/text/recall-text.ts): examples per probe, fact count, seed. */
export const ENGLISH_RECALL = { passageTokens: 63, n: 48, factCounts: [4], seed: 20_251_207 };

/**
 * The English zoo's headlines from a validation loss and a text-recall report: loss and perplexity on the
 * validation windows; the repeated passage's second-copy accuracy and its gain over the first copy (copying from
 * context); the answer to a question about 4 stated facts, and its gain over the control without the fact.
 */
export function englishHeadlines(
  valLoss: number,
  recall: {
    repeat: { first: { accuracy: number }; second: { accuracy: number } };
    facts: Record<string, { answer_first_token: { accuracy: number }; control_first_token: { accuracy: number } }>;
  },
): Record<string, number> {
  const f = recall.facts['4'];
  const r = (x: number) => Number(x.toFixed(4));
  return {
    val_loss: r(valLoss),
    val_ppl: r(Math.exp(valLoss)),
    repeat_second: r(recall.repeat.second.accuracy),
    repeat_gain: r(recall.repeat.second.accuracy - recall.repeat.first.accuracy),
    facts4: r(f.answer_first_token.accuracy),
    facts4_gain: r(f.answer_first_token.accuracy - f.control_first_token.accuracy),
  };
}

/** The synthetic zoo's evaluation: its headlines and the member tasks they are measured on (in headline order). */
export function syntheticEvaluation(): { headlines: Headline[]; evalTasks: Task[] } {
  return { headlines: SYNTHETIC_HEADLINES, evalTasks: [...new Map(SYNTHETIC_HEADLINES.map((h) => [h.task, headlineTask(h)])).values()] };
}
