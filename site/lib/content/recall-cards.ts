// The zoo's model cards (models/<name>/card.json) at build time, for numbers in lesson prose: a lesson writes
// {recallAt('hymba', 16)} and the built page shows the card's measurement, never a number typed from a run.
// A model that is not trained yet renders as a visible placeholder, and the build still succeeds.
import type { ModelCard } from '../../../engine/train/card.ts';

const cards = import.meta.glob<ModelCard>('../../../models/*/card.json', { eager: true, import: 'default' });

export function card(name: string): ModelCard | null {
  return cards[`../../../models/${name}/card.json`] ?? null;
}

const MISSING = '[not trained yet]';

/** MQAR-128 accuracy of a zoo model at `pairs` pairs, from its card ("99.8%"). */
export function recallAt(name: string, pairs: number): string {
  const a = card(name)?.accuracy?.by_pairs?.[String(pairs)];
  return a === undefined ? MISSING : `${(100 * a).toFixed(1)}%`;
}

/** Cache bytes at the card's sequence length, in kB (decimal, as the paper's MB). */
export function cacheKb(name: string): string {
  const b = card(name)?.cache?.total_bytes;
  return b === undefined ? MISSING : `${(b / 1000).toFixed(1)} kB`;
}

export function parameters(name: string): string {
  const p = card(name)?.parameters;
  return p === undefined ? MISSING : p.toLocaleString('en');
}

/** Examples behind each accuracy on the card. */
export function examplesPerPoint(name: string): string {
  const n = card(name)?.accuracy?.examples_per_point;
  return n === undefined ? MISSING : n.toLocaleString('en');
}

export function trainingSteps(name: string): string {
  const t = card(name)?.training;
  return t === undefined ? MISSING : `${t.steps.toLocaleString('en')} steps of ${t.batch} sequences`;
}

/** When training first measured ≥ 99 % at 16 pairs: "525 steps, 8.9 s". */
export function timeTo99(name: string): string {
  const t = card(name)?.training?.time_to_99;
  if (t === undefined) return MISSING;
  return t === null ? 'never, within the budget' : `${t.step.toLocaleString('en')} steps, ${t.seconds.toFixed(1)} s`;
}

/** The value at a dotted path of a card (`claims.summary.rise.ssm@0`), undefined when the card or the path is missing. */
export function cardValue(name: string, path: string): unknown {
  let v: unknown = card(name);
  for (const key of path.split('.')) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
  return v;
}

/** A number at a dotted path of a card (`claims.summary.rise.ssm@0.mean`), null when the card or the path is missing. */
export function cardNumber(name: string, path: string): number | null {
  const v = cardValue(name, path);
  return typeof v === 'number' ? v : null;
}
