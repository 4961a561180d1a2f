// A reader's English text as the en-* zoo models read it, shared by <hymba-stepper> and <hymba-attention-map>:
// normalised (engine/text/normalize.ts), encoded with the project's word-piece tokenizer
// (models/english-tokenizer/, docs/english.md), checked against the models' limits, and labelled for the axes.
// Plain functions (no DOM), so the Node tests run exactly what the widgets run.
import type { Tokenizer } from '../../../engine/tokenizer/tokenizer.ts';
import type { Tensor } from '../../../engine/tensor.ts';
import { normalizeText } from '../../../engine/text/normalize.ts';
import { ENGLISH_ZOO } from '../../../engine/train/zoo.ts';

/** The folder under models/ that holds the English tokenizer.json. */
export const ENGLISH_TOKENIZER = 'english-tokenizer';

/** The longest text the widgets take (the settings schema's limit; a 128-token window is ~70 words, ~400 chars). */
export const MAX_TEXT_CHARS = 400;

/**
 * The most tokens (`<s>` included) a text may have: the window the en-* models were trained on (ENGLISH_SEQ_LEN in
 * engine/text/english.node.ts, which browser code cannot import; a test checks the two agree).
 */
export const MAX_TEXT_TOKENS = 128;

/** A sentence in the Brown corpus's register, with repeated words, so attention has something to look back to. */
export const DEFAULT_TEXT = 'The man said that the house was old, and the man did not want to sell the house.';

export class TextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TextError';
  }
}

const ENGLISH_NAMES = new Set(ENGLISH_ZOO.map((e) => e.name));

/** Whether a zoo model reads English (the en-* zoo) rather than the synthetic tasks' token ids. */
export function isEnglishModel(name: string): boolean {
  return ENGLISH_NAMES.has(name);
}

export interface EncodedText {
  /** The text as the model reads it (normalizeText). */
  text: string;
  /** Token ids, `<s>` first. */
  ids: number[];
  /** The vocabulary piece of each id (`<s>`, `▁the`, `ing`, `<unk>`). */
  pieces: string[];
  /** Characters of the text the tokenizer has no piece for (each became `<unk>`), once each, in order. */
  unknown: string[];
}

/**
 * Token ids of a reader's text. TextError when there is nothing to read, or more tokens than the models take (the
 * message says how many and the limit, so the reader knows how much to cut).
 */
export function encodeText(tokenizer: Tokenizer, raw: string, maxTokens = MAX_TEXT_TOKENS): EncodedText {
  const text = normalizeText(raw);
  if (text === '') throw new TextError('the text is empty: type an English sentence, e.g. “The man said that the house was old.”');
  const ids = tokenizer.encode(text);
  if (ids.length > maxTokens) {
    throw new TextError(
      `the text is ${ids.length} tokens (with <s>); the English models read at most ${maxTokens}: shorten it by about ${ids.length - maxTokens}`,
    );
  }
  // The alphabet is printable ASCII, each character a piece of its own (docs/english.md): anything else is <unk>.
  const unknown = [...new Set([...text].filter((c) => c !== ' ' && tokenizer.tokenToId(c) === undefined))];
  return { text, ids, pieces: ids.map((id) => tokenizer.idToToken(id)), unknown };
}

/** Labels of a sequence with `numMeta` meta tokens in front (m0 … then the word pieces). */
export function textLabels(pieces: readonly string[], numMeta: number): string[] {
  return [...Array.from({ length: numMeta }, (_, i) => `m${i}`), ...pieces];
}

/** The sentence a widget shows under the text box when some characters became <unk>. */
export function unknownNote(unknown: readonly string[]): string {
  if (unknown.length === 0) return '';
  const shown = unknown
    .slice(0, 8)
    .map((c) => `“${c}”`)
    .join(', ');
  const more = unknown.length > 8 ? ` and ${unknown.length - 8} more` : '';
  return `${shown}${more} ${unknown.length === 1 ? 'is' : 'are'} not in the tokenizer's alphabet (printable ASCII), so ${unknown.length === 1 ? 'it reads' : 'they read'} as <unk>.`;
}

/** The `k` most likely next tokens at `row` of a logits tensor [T, V], with their softmax probabilities. */
export function topNext(logits: Tensor, row: number, k: number): { id: number; p: number }[] {
  const V = logits.shape[1];
  const scores = logits.data.subarray(row * V, (row + 1) * V);
  let max = -Infinity;
  for (const x of scores) max = Math.max(max, x);
  let sum = 0;
  for (const x of scores) sum += Math.exp(x - max);
  const ids = Array.from({ length: V }, (_, id) => id).sort((a, b) => scores[b] - scores[a]);
  return ids.slice(0, k).map((id) => ({ id, p: Math.exp(scores[id] - max) / sum }));
}
