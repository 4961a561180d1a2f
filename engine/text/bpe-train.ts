// Trains the English tokenizer: byte-pair encoding over words, written as a Hugging Face tokenizer.json that the
// project's Tokenizer (engine/tokenizer) reads, so the browser's stepper and attention map encode with it too.
//
// The file uses only what that Tokenizer implements (Llama-2 style, no pre-tokenizer): spaces become "▁" and the
// whole text is BPE'd as one piece. Training splits the text into units (unitsOf) and learns merges only inside a
// unit, so no merge rule ever joins across a unit boundary: encoding the whole text then gives exactly the tokens
// of encoding unit by unit (a test checks this), and every token is a readable word, word piece or mark.
//
// Deterministic: the same text and vocabulary size give the same file (ties go to the alphabetically first pair).

/** The word-boundary marker (U+2581), as in Llama/SentencePiece tokenizers. */
export const SPACE = '\u2581';
/** Special tokens and their fixed ids. */
export const SPECIAL_TOKENS = ['<pad>', '<s>', '</s>', '<unk>'] as const;
export const PAD_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
export const UNK_ID = 3;

/**
 * The units of a text, in order: a word (letters and apostrophes: "don't", "Atlanta's"), one digit, or one other
 * character; each takes the "▁" of a space before it. `"He paid $12."` → ▁He ▁paid ▁$ 1 2 .
 */
export function unitsOf(text: string): string[] {
  const marked = SPACE + text.replaceAll(' ', SPACE);
  return marked.match(/\u2581?(?:[A-Za-z']+|[^A-Za-z'\u2581])|\u2581/gu) ?? [];
}

/** Every printable ASCII character is in the alphabet, so any normalized English text encodes without <unk>. */
const ASCII_ALPHABET = Array.from({ length: 0x7e - 0x20 }, (_, i) => String.fromCharCode(0x21 + i));

export interface TrainedBpe {
  /** piece → id: special tokens, then the alphabet, then one piece per merge in merge order. */
  vocab: Map<string, number>;
  merges: Array<[string, string]>;
}

const key = (a: number, b: number): number => a * 65536 + b;

/** Learn merges over the units of `texts` until the vocabulary (special tokens included) has `vocabSize` pieces. */
export function trainBpe(texts: Iterable<string>, vocabSize: number): TrainedBpe {
  const unitCounts = new Map<string, number>();
  for (const text of texts) for (const u of unitsOf(text)) unitCounts.set(u, (unitCounts.get(u) ?? 0) + 1);

  const pieces: string[] = [...SPECIAL_TOKENS];
  const chars = new Set<string>([SPACE, ...ASCII_ALPHABET]);
  for (const u of unitCounts.keys()) for (const c of u) chars.add(c);
  pieces.push(...[...chars].sort());
  if (vocabSize < pieces.length) throw new RangeError(`trainBpe: vocabSize ${vocabSize} is below the ${pieces.length} base pieces`);
  if (vocabSize > 65536) throw new RangeError(`trainBpe: vocabSize ${vocabSize} above 65,536 is not supported`);
  const idOf = new Map(pieces.map((p, i) => [p, i]));

  // Distinct units in a fixed order, as id sequences, with their counts.
  const units = [...unitCounts.keys()].sort();
  const words = units.map((u) => [...u].map((c) => idOf.get(c)!));
  const counts = units.map((u) => unitCounts.get(u)!);
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (w: number, sign: number): void => {
    const s = words[w];
    for (let i = 0; i + 1 < s.length; i++) {
      const k = key(s[i], s[i + 1]);
      pairCount.set(k, (pairCount.get(k) ?? 0) + sign * counts[w]);
      if (sign > 0) {
        let set = pairWords.get(k);
        if (!set) pairWords.set(k, (set = new Set()));
        set.add(w);
      }
    }
  };
  words.forEach((_, w) => addPairs(w, 1));

  const merges: Array<[string, string]> = [];
  while (pieces.length < vocabSize) {
    let best = -1;
    let bestCount = 0;
    for (const [k, c] of pairCount) {
      if (c < bestCount || c <= 0) continue;
      if (c > bestCount || pairName(pieces, k) < pairName(pieces, best)) {
        best = k;
        bestCount = c;
      }
    }
    if (best < 0 || bestCount < 2) break; // nothing left that occurs twice: the vocabulary stays smaller
    const a = Math.floor(best / 65536);
    const b = best % 65536;
    const merged = pieces.length;
    pieces.push(pieces[a] + pieces[b]);
    merges.push([pieces[a], pieces[b]]);
    for (const w of pairWords.get(best)!) {
      const s = words[w];
      let has = false;
      for (let i = 0; i + 1 < s.length; i++) if (s[i] === a && s[i + 1] === b) has = true;
      if (!has) continue; // a stale entry: an earlier merge already used this word's pair
      addPairs(w, -1);
      const next: number[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          next.push(merged);
          i++;
        } else next.push(s[i]);
      }
      words[w] = next;
      addPairs(w, 1);
    }
    pairCount.delete(best);
    pairWords.delete(best);
  }
  return { vocab: new Map(pieces.map((p, i) => [p, i])), merges };
}

const pairName = (pieces: string[], k: number): string => (k < 0 ? '\uffff' : pieces[Math.floor(k / 65536)] + ' ' + pieces[k % 65536]);

/** The Hugging Face tokenizer.json of a trained BPE (readable by engine/tokenizer's Tokenizer and by `tokenizers`). */
export function tokenizerJson(bpe: TrainedBpe): Record<string, unknown> {
  const special = (content: string, id: number) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((t, i) => special(t, i)),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: SPACE },
        { type: 'Replace', pattern: { String: ' ' }, content: SPACE },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [BOS_ID], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPACE }, content: ' ' },
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
      ignore_merges: false,
      vocab: Object.fromEntries(bpe.vocab),
      merges: bpe.merges.map(([l, r]) => `${l} ${r}`),
    },
  };
}

/** tokenizer_config.json beside it: names the BOS/EOS/PAD/UNK tokens. */
export const TOKENIZER_CONFIG = {
  bos_token: '<s>',
  eos_token: '</s>',
  pad_token: '<pad>',
  unk_token: '<unk>',
  add_bos_token: true,
  add_eos_token: false,
  model_max_length: 4096,
  tokenizer_class: 'PreTrainedTokenizerFast',
};
