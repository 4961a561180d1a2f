// What the recall widgets (<hymba-recall-lab>, <hymba-head-importance>, <hymba-roadmap>) share beyond the page's
// models (site/lib/page/queued-engine.ts): how recall results are written for readers.
import { colourOf } from '../base/palette.ts';
import { tokenLabel } from '../content/stepper-tokens.ts';

export const pct = (x: number, digits = 1): string => (Number.isFinite(x) ? `${(100 * x).toFixed(digits)}%` : '–');

/** Right and wrong: colour-blind-safe colours, always with a glyph as well. */
export const RIGHT = { colour: colourOf('right'), glyph: '✓' };
export const WRONG = { colour: colourOf('wrong'), glyph: '✗' };

/** A token as a label (k17, v301, _), for a vocabulary of `vocab` ids. */
export const label = (id: number, vocab: number): string => tokenLabel(id, vocab);
