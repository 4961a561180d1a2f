// How many sequences a measurement rests on, chosen from the speed of the device it runs on (issue 19): a GPU answers
// the zoo's 128-token sequences in milliseconds, a software GPU (SwiftShader) in a third of a second each. A widget
// that always answered its full count would show a weak device nothing for a minute and more. So a measurement runs
// in rounds: a small pilot first (its result shown at once), timed; then as many more sequences as fit the time
// budget at the speed the pilot measured, capped at the full count, in a few rounds so the figure refines as it goes.
// Each round answers the next sequences of the same fresh stream (freshExamples' `from`), so the union of the rounds
// is exactly the one-go measurement of that many sequences.

export class SampleBudgetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SampleBudgetError';
  }
}

export interface SampleBudget {
  /** The most sequences to measure (the widget's `sequences`). */
  max: number;
  /** How long the whole measurement may take, in ms, at the pilot's speed. */
  ms: number;
  /** Sequences in the pilot round (default 1). */
  pilot?: number;
  /** Rounds after the pilot (default 3): each one updates the figure. */
  rounds?: number;
}

/** How many sequences in all fit `budget.ms`, at `msPerSequence` (between the pilot's count and `max`). */
export function sequencesWithin(budget: SampleBudget, msPerSequence: number): number {
  const pilot = Math.min(budget.pilot ?? 1, budget.max);
  if (!(msPerSequence > 0)) return budget.max;
  return Math.max(pilot, Math.min(budget.max, Math.floor(budget.ms / msPerSequence)));
}

/** The sizes of the rounds after the pilot that take the count from `pilot` to `total`, as even as they come. */
export function roundSizes(pilot: number, total: number, rounds: number): number[] {
  const rest = total - pilot;
  if (rest <= 0) return [];
  const k = Math.max(1, Math.min(rounds, rest));
  return Array.from({ length: k }, (_, i) => Math.floor((rest * (i + 1)) / k) - Math.floor((rest * i) / k));
}

export interface RoundsOptions {
  signal?: { aborted: boolean };
  now?: () => number;
}

/**
 * Run `round(from, n)` for the pilot, then for the rounds the pilot's speed allows. Resolves with the sequences of
 * the rounds it started (`signal` stops it between rounds; a round stopped inside knows what it answered).
 */
export async function measureInRounds(
  budget: SampleBudget,
  round: (from: number, n: number) => Promise<void>,
  o: RoundsOptions = {},
): Promise<number> {
  if (!Number.isInteger(budget.max) || budget.max < 1)
    throw new SampleBudgetError(`the most sequences must be a positive integer, got ${budget.max}`);
  if (!(budget.ms >= 0)) throw new SampleBudgetError(`the time budget must be a non-negative number of ms, got ${budget.ms}`);
  const now = o.now ?? (() => performance.now());
  const pilot = Math.min(budget.pilot ?? 1, budget.max);
  const t0 = now();
  await round(0, pilot);
  if (o.signal?.aborted) return pilot;
  const total = sequencesWithin(budget, (now() - t0) / pilot);
  let done = pilot;
  for (const n of roundSizes(pilot, total, budget.rounds ?? 3)) {
    if (o.signal?.aborted) break;
    await round(done, n);
    done += n;
  }
  return done;
}
