// Language-model data for the trainer (browser-safe): a corpus as one token stream, and a Task whose examples are
// windows of it with the next token as every position's label.
//
// Every window starts at the beginning of a sentence, after <s>, because that is what a reader's prompt looks like
// (the Tokenizer puts <s> before typed text). Documents follow one another in the stream, each closed by </s>, so
// a window that runs past a document's end goes on into the next one, as in GPT-style packed training.
import type { Tokenizer } from '../tokenizer/tokenizer.ts';
import type { Rng } from '../tasks/rng.ts';
import { TaskError, type Example, type Task } from '../tasks/types.ts';
import { BOS_ID, EOS_ID } from './bpe-train.ts';

/** A tokenized corpus split: all documents' tokens in a row, and where each sentence starts. */
export interface TokenStream {
  ids: Uint16Array;
  /** Offsets into `ids` of each sentence's first token, ascending. */
  sentenceStarts: Uint32Array;
  vocabSize: number;
}

/** Token stream of documents (each a list of normalized sentences): sentence after sentence, </s> after each document. */
export function encodeDocuments(tokenizer: Tokenizer, docs: Array<{ sentences: string[] }>): TokenStream {
  if (tokenizer.vocabSize > 65536) throw new TaskError(`a vocabulary of ${tokenizer.vocabSize} does not fit the 16-bit token stream`);
  const ids: number[] = [];
  const starts: number[] = [];
  for (const doc of docs) {
    for (const sentence of doc.sentences) {
      starts.push(ids.length);
      for (const id of tokenizer.encode(sentence, { addBos: false })) ids.push(id);
    }
    ids.push(EOS_ID);
  }
  return { ids: Uint16Array.from(ids), sentenceStarts: Uint32Array.from(starts), vocabSize: tokenizer.vocabSize };
}

/** The window of `seqLen` inputs starting at sentence offset `start`: <s> + tokens, labels = the next tokens. */
export function windowAt(stream: TokenStream, start: number, seqLen: number): Example {
  if (start + seqLen > stream.ids.length)
    throw new TaskError(`a window of ${seqLen} at ${start} runs past the stream's ${stream.ids.length} tokens`);
  const ids = new Int32Array(seqLen);
  ids[0] = BOS_ID;
  for (let t = 1; t < seqLen; t++) ids[t] = stream.ids[start + t - 1];
  const targets = Int32Array.from(stream.ids.subarray(start, start + seqLen));
  return { ids, targets, pairs: 0, queries: [] };
}

/** Seeded random windows of running text (training), one interface with the synthetic tasks. */
export class LmTask implements Task {
  readonly name = 'lm';
  readonly seqLen: number;
  readonly vocabSize: number;
  readonly maxTargets: number;
  readonly info: Record<string, unknown>;
  readonly stream: TokenStream;
  /** Sentence starts with a full window after them. */
  private readonly usable: number;

  constructor(stream: TokenStream, seqLen: number, info: Record<string, unknown> = {}) {
    if (!Number.isInteger(seqLen) || seqLen < 2) throw new TaskError(`seqLen must be an integer ≥ 2, got ${seqLen}`);
    this.stream = stream;
    this.seqLen = seqLen;
    this.vocabSize = stream.vocabSize;
    this.maxTargets = seqLen;
    let usable = stream.sentenceStarts.length;
    while (usable > 0 && stream.sentenceStarts[usable - 1] + seqLen > stream.ids.length) usable--;
    if (usable === 0) throw new TaskError(`the stream's ${stream.ids.length} tokens hold no window of ${seqLen}`);
    this.usable = usable;
    this.info = { task: 'lm', seq_len: seqLen, tokens: stream.ids.length, sentences: stream.sentenceStarts.length, ...info };
  }

  /** A window at a random sentence start (`pairs` is meaningless here and ignored). */
  sample(rng: Rng): Example {
    return windowAt(this.stream, this.stream.sentenceStarts[rng.int(0, this.usable)], this.seqLen);
  }
}

/**
 * The fixed validation set: windows laid end to end over the stream, each starting at the first sentence start
 * at or after the previous window's end, so every token is scored at most once and nearly all are. Baselines and
 * models are scored on exactly these windows.
 */
export function validationWindows(stream: TokenStream, seqLen: number): Example[] {
  const out: Example[] = [];
  let from = 0;
  for (const start of stream.sentenceStarts) {
    if (start < from) continue;
    if (start + seqLen > stream.ids.length) break;
    out.push(windowAt(stream, start, seqLen));
    from = start + seqLen;
  }
  return out;
}
