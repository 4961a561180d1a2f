// Readable names for MQAR tokens, shared by <hymba-stepper> and <hymba-attention-map>.
//
// The MQAR task (engine/tasks/mqar.ts) splits the vocabulary in two: keys are 1 .. V/2 − 1, values V/2 .. V − 1, and
// 0 is the blank between queries. For the lesson models (V = 512) that is keys k1..k255 and values v256..v511. A
// label keeps the id (k17 is id 17, v301 is id 301), so a prompt written in labels and one written in ids are the
// same prompt. Meta tokens are not ids; they are named m0, m1, … by position.

export class PromptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PromptError';
  }
}

/** A short MQAR prompt: 4 key–value pairs, then the 4 keys again as queries with blanks between (Zoology layout). */
export const DEFAULT_PROMPT = 'k17 v301 k42 v388 k5 v260 k99 v475 _ _ k42 _ k17 _ _ _ k99 _ k5';

const BLANK = '_';

export function tokenLabel(id: number, vocabSize: number): string {
  const half = Math.floor(vocabSize / 2);
  if (id === 0) return BLANK;
  return id < half ? `k${id}` : `v${id}`;
}

/** Labels of a sequence with `numMeta` meta tokens in front (m0 … then the text). */
export function sequenceLabels(ids: readonly number[], numMeta: number, vocabSize: number): string[] {
  return [...Array.from({ length: numMeta }, (_, i) => `m${i}`), ...ids.map((id) => tokenLabel(id, vocabSize))];
}

export function formatPrompt(ids: readonly number[], vocabSize: number): string {
  return ids.map((id) => tokenLabel(id, vocabSize)).join(' ');
}

/**
 * Token ids from prompt text: labels (k17, v301, _) or plain ids (17 301 0), separated by spaces or commas.
 * A key label must name a key id and a value label a value id, so a typo cannot silently change the task.
 */
export function parsePrompt(text: string, vocabSize: number): number[] {
  const half = Math.floor(vocabSize / 2);
  const parts = text
    .trim()
    .split(/[\s,]+/)
    .filter(Boolean);
  if (parts.length === 0) throw new PromptError('the prompt is empty: type tokens such as “k17 v301 _ k17”');
  return parts.map((part, i) => {
    const where = `token ${i + 1} (“${part.slice(0, 12)}”)`;
    if (part === BLANK) return 0;
    const m = /^([kv]?)(\d{1,6})$/i.exec(part);
    if (!m) throw new PromptError(`${where} is not a token: write k<id> for a key, v<id> for a value, _ for a blank, or a plain id`);
    const id = Number(m[2]);
    const kind = m[1].toLowerCase();
    if (kind === 'k' && !(id >= 1 && id < half)) throw new PromptError(`${where}: keys are k1 … k${half - 1}`);
    if (kind === 'v' && !(id >= half && id < vocabSize)) throw new PromptError(`${where}: values are v${half} … v${vocabSize - 1}`);
    if (id >= vocabSize) throw new PromptError(`${where}: ids go from 0 to ${vocabSize - 1}`);
    return id;
  });
}
