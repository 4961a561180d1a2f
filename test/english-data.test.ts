// The English data: the Brown corpus as text, the project's word-piece tokenizer (models/english-tokenizer) and the
// language-model stream the trainer reads.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../engine/tasks/rng.ts';
import { parseTaggedDocument, splitBrown, type BrownDocument } from '../engine/text/brown.node.ts';
import { BOS_ID, EOS_ID, PAD_ID, tokenizerJson, trainBpe, UNK_ID, unitsOf } from '../engine/text/bpe-train.ts';
import { ENGLISH_TOKENIZER_DIR, loadEnglishData, type EnglishData } from '../engine/text/english.node.ts';
import { LmTask, validationWindows } from '../engine/text/lm-data.ts';
import { detokenize, normalizeText } from '../engine/text/normalize.ts';

let data: EnglishData;
beforeAll(async () => {
  data = await loadEnglishData({ seqLen: 128 });
}, 60_000);

const sentencesOf = (docs: BrownDocument[]) => docs.flatMap((d) => d.sentences);

describe('Brown corpus as text', () => {
  it('strips the tags and prints quotes and punctuation as text', () => {
    const line = "\t``/`` Only/rb a/at handful/nn ''/'' ,/, the/at jury/nn said/vbd ,/, ``/`` it's/pps+bez 1/2/cd ''/'' ./.\n";
    expect(parseTaggedDocument(line)).toEqual(['"Only a handful", the jury said, "it\'s 1/2".']);
    expect(detokenize(['He', 'met', 'Ivan', 'Allen', 'Jr.', '.'])).toBe('He met Ivan Allen Jr.');
    expect(detokenize(['(', 'see', 'below', ')', ';', 'yes'])).toBe('(see below); yes');
    expect(normalizeText('  \u201cHi,\u201d  she\u2019s\n here\u2014now ')).toBe('"Hi," she\'s here--now');
  });

  it('has all 500 documents, split 475 / 25 by document, every 20th in file order', () => {
    const docs = [...data.split.train, ...data.split.validation];
    expect(docs).toHaveLength(500);
    expect(new Set(docs.map((d) => d.id)).size).toBe(500);
    expect(data.split.validation).toHaveLength(25);
    expect(data.split.validation[0].id).toBe('ca20');
    expect(new Set(data.split.validation.map((d) => d.category)).size).toBeGreaterThanOrEqual(12);
    const words = sentencesOf(data.split.train).reduce((n, s) => n + s.split(' ').length, 0);
    expect(words).toBeGreaterThan(900_000);
    for (const s of sentencesOf(data.split.validation)) expect(s).toBe(normalizeText(s)); // no tags, no double spaces
    expect(sentencesOf(data.split.train).some((s) => /\/[a-z]/.test(s) && /\b\w+\/(nn|vbd|at)\b/.test(s))).toBe(false);
  });
});

describe('English tokenizer', () => {
  it('is the file the trainer writes from the training split (deterministic, and up to date)', () => {
    const committed = JSON.parse(readFileSync(path.join(ENGLISH_TOKENIZER_DIR, 'tokenizer.json'), 'utf8'));
    const fresh = tokenizerJson(trainBpe(sentencesOf(data.split.train), 2048));
    expect(JSON.parse(JSON.stringify(fresh))).toEqual(committed);
  }, 60_000);

  it('has 2,048 ids with <pad> 0, <s> 1, </s> 2, <unk> 3', () => {
    const tok = data.tokenizer;
    expect(tok.vocabSize).toBe(2048);
    expect([tok.tokenToId('<pad>'), tok.tokenToId('<s>'), tok.tokenToId('</s>'), tok.tokenToId('<unk>')]).toEqual([
      PAD_ID,
      BOS_ID,
      EOS_ID,
      UNK_ID,
    ]);
    expect([tok.bosId, tok.eosId]).toEqual([BOS_ID, EOS_ID]);
    expect(tok.encode('The jury said')[0]).toBe(BOS_ID);
    expect(tok.encode('The man said', { addBos: false }).map((id) => tok.idToToken(id))).toEqual(['▁The', '▁man', '▁said']);
  });

  it('round-trips every validation sentence and document without <unk>', () => {
    const tok = data.tokenizer;
    for (const doc of data.split.validation) {
      const text = doc.sentences.join(' ');
      const ids = tok.encode(text, { addBos: false });
      expect(ids).not.toContain(UNK_ID);
      expect(tok.decode(ids)).toBe(text);
    }
  });

  it('encodes whole text exactly as unit by unit: no merge crosses a word boundary', () => {
    // Reference: textbook BPE on each unit alone (merge the lowest-ranked adjacent pair, leftmost first, until none).
    const json = JSON.parse(readFileSync(path.join(ENGLISH_TOKENIZER_DIR, 'tokenizer.json'), 'utf8'));
    const rank = new Map<string, number>((json.model.merges as string[]).map((m, i) => [m, i]));
    const unitTokens = (unit: string): string[] => {
      const symbols = [...unit];
      for (;;) {
        let best = -1;
        for (let i = 0; i + 1 < symbols.length; i++) {
          const r = rank.get(`${symbols[i]} ${symbols[i + 1]}`);
          if (r !== undefined && (best < 0 || r < rank.get(`${symbols[best]} ${symbols[best + 1]}`)!)) best = i;
        }
        if (best < 0) return symbols;
        symbols.splice(best, 2, symbols[best] + symbols[best + 1]);
      }
    };
    const tok = data.tokenizer;
    for (const doc of data.split.validation.slice(0, 6)) {
      const text = doc.sentences.join(' ');
      const byUnit = unitsOf(text).flatMap(unitTokens);
      expect(tok.encode(text, { addBos: false }).map((id) => tok.idToToken(id))).toEqual(byUnit);
    }
  });

  it('has readable tokens: the most frequent are whole words and marks', () => {
    const counts = new Map<number, number>();
    for (const id of data.trainStream.ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    const top = [...counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 50)
      .map(([id]) => data.tokenizer.idToToken(id));
    expect(top.slice(0, 6)).toEqual(expect.arrayContaining(['▁the', ',', '.', '▁of', '▁and']));
    const words = top.filter((t) => /^▁[A-Za-z']+$/.test(t) || /^[^A-Za-z0-9▁]$/.test(t) || t === '</s>');
    expect(words.length).toBeGreaterThanOrEqual(25); // the rest are suffixes such as "ing", "ed", "'s"
    // and running text is mostly whole words: most word units are one token
    const firstWords = sentencesOf(data.split.validation)
      .slice(0, 2000)
      .flatMap((s) => unitsOf(s))
      .filter((u) => /^▁[A-Za-z']+$/.test(u));
    const whole = firstWords.filter((u) => data.tokenizer.tokenToId(u) !== undefined).length;
    expect(whole / firstWords.length).toBeGreaterThan(0.6);
  });

  it('maps a character outside its alphabet to <unk> and still decodes the rest', () => {
    const tok = data.tokenizer;
    const ids = tok.encode('café au lait', { addBos: false });
    expect(ids).toContain(UNK_ID);
    expect(tok.decode(ids)).toBe('caf au lait');
  });
});

describe('LM data stream', () => {
  it('draws the same windows from the same seed, other windows from another', () => {
    const a = Rng.derive(5, 1);
    const b = Rng.derive(5, 1);
    const c = Rng.derive(6, 1);
    const draw = (r: Rng) => Array.from({ length: 8 }, () => Array.from(data.train.sample(r).ids));
    const first = draw(a);
    expect(draw(b)).toEqual(first);
    expect(draw(c)).not.toEqual(first);
  });

  it('starts each window at a sentence after <s>, and labels each position with the next token', () => {
    const stream = data.trainStream;
    const starts = new Set(stream.sentenceStarts);
    const rng = new Rng(3);
    for (let i = 0; i < 50; i++) {
      const ex = data.train.sample(rng);
      expect(ex.ids).toHaveLength(128);
      expect(ex.targets).toHaveLength(128);
      expect(ex.ids[0]).toBe(BOS_ID);
      for (let t = 0; t + 1 < 128; t++) expect(ex.targets[t]).toBe(ex.ids[t + 1]);
      // the first label is the sentence's first token, found in the stream at a sentence start
      const at = [...starts].find(
        (s) => stream.ids[s] === ex.targets[0] && stream.ids[s + 127] === ex.targets[127] && stream.ids[s + 1] === ex.targets[1],
      );
      expect(at).toBeDefined();
      expect(ex.targets.every((id) => id !== PAD_ID && id !== UNK_ID)).toBe(true);
    }
    expect(data.train.vocabSize).toBe(2048);
    expect(data.train.maxTargets).toBe(128);
  });

  it('lays validation windows end to end over nearly all of the validation split, the same every time', () => {
    const windows = data.validation;
    expect(windows.length).toBeGreaterThan(600);
    const scored = windows.length * 128;
    expect(scored / data.validationStream.ids.length).toBeGreaterThan(0.8);
    expect(validationWindows(data.validationStream, 128).map((w) => Array.from(w.targets))).toEqual(
      windows.map((w) => Array.from(w.targets)),
    );
  });

  it('refuses a window longer than the stream', () => {
    const tiny = { ids: Uint16Array.from([5, 6, 7]), sentenceStarts: Uint32Array.from([0]), vocabSize: 2048 };
    expect(() => new LmTask(tiny, 8)).toThrow(/no window of 8/);
  });
});

// Keep the split function honest on its own (no I/O): every 20th document is validation.
describe('splitBrown', () => {
  it('puts documents 19, 39, … in validation and the rest in train', () => {
    const docs = Array.from({ length: 45 }, (_, i) => ({ id: `d${i}`, category: 'x', sentences: [] }));
    const s = splitBrown(docs);
    expect(s.validation.map((d) => d.id)).toEqual(['d19', 'd39']);
    expect(s.train).toHaveLength(43);
  });
});
