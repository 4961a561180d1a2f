// The Hymba tokenizer against the ids the official `tokenizers` library gives (shared/hymba-1.5b/tokenizer-golden.json),
// the chat template against spec §5, and the BPE/decoder rules on a tiny hand-made tokenizer.json.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  IncrementalDecoder,
  renderChatTemplate,
  Tokenizer,
  TokenizerFormatError,
  TokenizerInputError,
  type ChatMessage,
} from '../engine/tokenizer/index.ts';
import { sharedDir } from './paths.ts';

const modelDir = path.join(sharedDir, 'hymba-1.5b');
const readJson = (name: string): Record<string, unknown> => JSON.parse(readFileSync(path.join(modelDir, name), 'utf8'));

interface GoldenCase {
  text: string;
  ids: number[];
  tokens: string[];
  decoded: string;
}
const golden = readJson('tokenizer-golden.json') as { add_special_tokens: boolean; cases: GoldenCase[] };
const SPECIAL_LITERALS = ['<s>', '</s>', '<unk>', '[PAD]'];

let tok: Tokenizer;
beforeAll(() => {
  tok = Tokenizer.fromJson(readFileSync(path.join(modelDir, 'tokenizer.json'), 'utf8'), readJson('tokenizer_config.json'));
});

describe('Hymba tokenizer vs the official tokenizers library', () => {
  it('golden file is the shape these tests assume', () => {
    expect(golden.add_special_tokens).toBe(true);
    expect(golden.cases.length).toBeGreaterThan(30);
  });

  it.each(golden.cases.map((c) => [JSON.stringify(c.text).slice(0, 60), c] as const))('encodes %s', (_, c) => {
    expect(tok.encode(c.text)).toEqual(c.ids);
    expect(c.ids.map((id) => tok.idToToken(id))).toEqual(c.tokens);
    expect(tok.encode(c.text, { addBos: false })).toEqual(c.ids.slice(1));
  });

  it.each(golden.cases.map((c) => [JSON.stringify(c.text).slice(0, 60), c] as const))('decodes %s', (_, c) => {
    expect(tok.decode(c.ids)).toBe(c.decoded);
    // Round trip: exact whenever the text holds no special-token literal (those are skipped on decode).
    const roundTrip = tok.decode(tok.encode(c.text));
    if (SPECIAL_LITERALS.some((s) => c.text.includes(s))) expect(roundTrip).toBe(c.decoded);
    else expect(roundTrip).toBe(c.text);
  });

  it('knows the vocabulary facts of spec §5', () => {
    expect(tok.vocabSize).toBe(32001);
    expect([tok.bosId, tok.eosId]).toEqual([1, 2]);
    expect(tok.idToToken(13)).toBe('<0x0A>');
    expect(tok.idToToken(29871)).toBe('▁');
    expect(tok.idToToken(32000)).toBe('[PAD]');
    expect(tok.tokenToId('▁Hello')).toBe(15043);
    expect(tok.tokenToId('<extra_id_0>')).toBeUndefined();
    expect([0, 1, 2, 32000, 3].map((id) => tok.isSpecial(id))).toEqual([true, true, true, true, false]);
  });

  it('keeps special tokens on decode when asked (the strip only removes a leading space)', () => {
    expect(tok.decode([1, 15043, 3186, 2], { skipSpecial: false })).toBe('<s> Hello world</s>');
    expect(tok.decode([1, 15043, 3186, 2])).toBe('Hello world');
  });

  it('turns an invalid byte run into one U+FFFD per byte, as the ByteFallback decoder does', () => {
    const byte = (b: number): number => tok.tokenToId(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)!;
    const a = tok.tokenToId('a')!;
    expect(tok.decode([byte(0xe5), byte(0x8f), byte(0xab)])).toBe('叫');
    expect(tok.decode([byte(0xe5), byte(0x8f), a])).toBe('\uFFFD\uFFFDa');
    expect(tok.decode([byte(0x41), byte(0xff)])).toBe('\uFFFD\uFFFD');
  });
});

describe('chat template (spec §5)', () => {
  const example: ChatMessage[] = [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: 'Hi!' },
  ];
  const specIds = [
    1, 529, 17833, 29918, 333, 29918, 29900, 29958, 3924, 13, 3492, 526, 263, 8444, 20255, 29889, 13, 13, 29966, 17833, 29918, 333, 29918,
    29896, 29958, 2659, 13, 18567, 29991, 13, 29966, 17833, 29918, 333, 29918, 29896, 29958, 7900, 22137, 13,
  ];

  it("renders and tokenizes the spec's example to the ids of the official library", () => {
    const text = renderChatTemplate(example, { addGenerationPrompt: true });
    expect(text).toBe('<extra_id_0>System\nYou are a helpful assistant.\n\n<extra_id_1>User\nHi!\n<extra_id_1>Assistant\n');
    expect(tok.encode(text)).toEqual(specIds);
  });

  it('starts with an empty system block when there is no system message', () => {
    expect(renderChatTemplate([{ role: 'user', content: 'Hi!' }], { addGenerationPrompt: true })).toBe(
      '<extra_id_0>System\n\n<extra_id_1>User\nHi!\n<extra_id_1>Assistant\n',
    );
  });

  it('renders every turn kind in order, strips content as Python does, and adds no prompt unless asked', () => {
    const messages: ChatMessage[] = [
      { role: 'user', content: ' first\n' },
      { role: 'system', content: '  Be brief.  ' },
      { role: 'assistant', content: 'ok\x1f' },
      { role: 'tool', content: '\u00a0{"x": 1}' },
      { role: 'user', content: 'keep\ufeff' },
    ];
    expect(renderChatTemplate(messages)).toBe(
      '<extra_id_0>System\nBe brief.\n\n' +
        '<extra_id_1>User\nfirst\n<extra_id_1>Assistant\nok\n<extra_id_1>Tool\n{"x": 1}\n<extra_id_1>User\nkeep\ufeff\n',
    );
  });

  it('refuses unknown roles and non-string content', () => {
    expect(() => renderChatTemplate([{ role: 'bot', content: 'x' } as unknown as ChatMessage])).toThrow(/message 0 has role "bot"/);
    expect(() => renderChatTemplate([{ role: 'user', content: 3 } as unknown as ChatMessage])).toThrow(TokenizerInputError);
  });
});

describe('IncrementalDecoder', () => {
  it.each(golden.cases.map((c) => [JSON.stringify(c.text).slice(0, 60), c] as const))('streams %s without half characters', (_, c) => {
    for (const skipSpecial of [true, false]) {
      const stream = new IncrementalDecoder(tok, { skipSpecial });
      const chunks = c.ids.map((id) => stream.push(id));
      chunks.push(stream.flush());
      for (const chunk of chunks) expect(chunk).not.toContain('\uFFFD');
      expect(chunks.join('')).toBe(skipSpecial ? c.decoded : tok.decode(c.ids, { skipSpecial: false }));
    }
  });

  it('holds the bytes of an emoji until the character is complete', () => {
    const stream = new IncrementalDecoder(tok);
    const ids = tok.encode('I 🙂'); // <s> ▁I ▁ <0xF0> <0x9F> <0x99> <0x82>
    expect(ids.map((id) => stream.push(id))).toEqual(['', 'I', ' ', '', '', '', '🙂']);
    expect(stream.flush()).toBe('');
  });

  it('gives U+FFFD for bytes still incomplete at the end, and refuses unknown ids', () => {
    const stream = new IncrementalDecoder(tok);
    expect(stream.push(tok.tokenToId('<0xF0>')!)).toBe('');
    expect(stream.flush()).toBe('\uFFFD');
    expect(() => stream.push(40000)).toThrow(TokenizerInputError);
  });
});

describe('bad input', () => {
  it('names what is wrong', () => {
    expect(() => tok.encode(42 as unknown as string)).toThrow(TokenizerInputError);
    expect(() => tok.decode([1, 15043, 32001])).toThrow(/position 2: 32001 is not a token id \(0\.\.32000\)/);
    expect(() => tok.decode([1.5])).toThrow(TokenizerInputError);
    expect(() => tok.idToToken(-1)).toThrow(TokenizerInputError);
    expect(() => Tokenizer.fromJson('{not json')).toThrow(/tokenizer\.json: not valid JSON/);
    expect(() => Tokenizer.fromJson('[]')).toThrow(TokenizerFormatError);
  });
});

// A tokenizer.json small enough to work BPE out by hand.
function tinyTokenizer(overrides: { model?: Record<string, unknown>; [key: string]: unknown } = {}): Record<string, unknown> {
  const { model, ...top } = overrides;
  return {
    added_tokens: [{ id: 1, content: '<s>', special: true, normalized: false, lstrip: false, rstrip: false, single_word: false }],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: false,
      vocab: { '<unk>': 0, '<s>': 1, '</s>': 2, '▁': 3, a: 4, b: 5, aa: 6, ab: 7, '▁a': 8, '▁ab': 9 },
      merges: ['a a', '▁ a', 'a b', ['▁a', 'b']],
      ...model,
    },
    ...top,
  };
}

describe('BPE rules on a tiny tokenizer', () => {
  const tiny = (): Tokenizer => Tokenizer.fromJson(tinyTokenizer());

  it('merges the lowest-ranked pair first, leftmost among equals', () => {
    // ▁ a a a: "a a" (rank 0) beats "▁ a" (rank 1), and the leftmost "a a" goes first → ▁ aa a; no rule is left.
    expect(tiny().encode('aaa', { addBos: false })).toEqual([3, 6, 4]);
    // ▁ a b: "▁ a" (rank 1) beats "a b" (rank 2) → ▁a b → "▁a b" (rank 3, written as an array) → ▁ab.
    expect(tiny().encode('ab')).toEqual([1, 9]);
    // ▁ b a b: only "a b" applies → ▁ b ab.
    expect(tiny().encode('bab', { addBos: false })).toEqual([3, 5, 7]);
  });

  it('fuses consecutive unknown characters into one <unk> when fuse_unk is on', () => {
    expect(tiny().encode('axyb', { addBos: false })).toEqual([8, 0, 5]);
    const unfused = Tokenizer.fromJson(tinyTokenizer({ model: { fuse_unk: false } }));
    expect(unfused.encode('axyb', { addBos: false })).toEqual([8, 0, 0, 5]);
  });

  it('refuses what it does not implement, naming the key', () => {
    expect(() => Tokenizer.fromJson(tinyTokenizer({ pre_tokenizer: { type: 'Metaspace' } }))).toThrow(/pre_tokenizer/);
    expect(() => Tokenizer.fromJson(tinyTokenizer({ model: { type: 'Unigram' } }))).toThrow(/model\.type: expected "BPE"/);
    expect(() => Tokenizer.fromJson(tinyTokenizer({ model: { dropout: 0.1 } }))).toThrow(/model\.dropout/);
    expect(() => Tokenizer.fromJson(tinyTokenizer({ model: { merges: ['a c'] } }))).toThrow(/merges\[0\].*not in model\.vocab/);
    expect(() => Tokenizer.fromJson(tinyTokenizer({ model: { byte_fallback: true } }))).toThrow(/<0x00> is missing/);
    expect(() => Tokenizer.fromJson(tinyTokenizer({ normalizer: { type: 'NFKC' } }))).toThrow(/unsupported normalizer type "NFKC"/);
    expect(() => Tokenizer.fromJson(tinyTokenizer({ decoder: { type: 'Metaspace' } }))).toThrow(TokenizerFormatError);
  });
});
