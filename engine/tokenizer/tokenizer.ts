// The Hymba (Llama-2 32k) tokenizer, built from a Hugging Face `tokenizer.json` (spec §5).
//
// It does exactly what that file specifies, step by step, as the `tokenizers` library does:
//   encode: split out the added/special tokens (`<s>`, `</s>`, `<unk>`, `[PAD]`) literally
//           → normalize each remaining piece (Prepend "▁", Replace " " → "▁")
//           → BPE each piece as one word (no pre-tokenizer), with byte fallback (bpe.ts)
//           → post-process (TemplateProcessing `<s> $A`: prepend BOS).
//   decode: drop special tokens (optional) → Replace "▁" → " " → ByteFallback (<0xNN> runs → UTF-8)
//           → Fuse → Strip one leading space.
// Anything else in a tokenizer.json (a pre-tokenizer, regex patterns, dropout, …) is refused with a
// TokenizerFormatError rather than silently tokenized differently. No fs here: the Node loader is load.node.ts.
import { bpeEncode, pairKey, type BpeModel } from './bpe.ts';
import { TokenizerFormatError, TokenizerInputError } from './errors.ts';

type Json = Record<string, unknown>;
type Normalizer = (text: string) => string;
type DecodeStep = (tokens: string[]) => string[];

export interface EncodeOptions {
  /** Apply the post-processor (for Hymba: prepend `<s>`, id 1). Default true, as `add_special_tokens=True`. */
  addBos?: boolean;
}
export interface DecodeOptions {
  /** Leave out special tokens (`<s>`, `</s>`, `<unk>`, `[PAD]`). Default true, as the `tokenizers` library. */
  skipSpecial?: boolean;
}

interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(where: string, message: string): never {
  throw new TokenizerFormatError(`tokenizer.json: ${where}: ${message}`);
}

function expectObject(v: unknown, where: string): Json {
  if (!isObject(v)) fail(where, `expected an object, got ${JSON.stringify(v)?.slice(0, 80)}`);
  return v;
}

function expectString(v: unknown, where: string): string {
  if (typeof v !== 'string') fail(where, `expected a string, got ${JSON.stringify(v)?.slice(0, 80)}`);
  return v;
}

/** `{"type": "Sequence", "<key>": [...]}` or a single component → the list of components. */
function componentList(v: unknown, key: string, where: string): Json[] {
  if (v === null || v === undefined) return [];
  const component = expectObject(v, where);
  if (component.type !== 'Sequence') return [component];
  const list = component[key];
  if (!Array.isArray(list)) fail(`${where}.${key}`, 'expected a list');
  return list.map((c, i) => expectObject(c, `${where}.${key}[${i}]`));
}

/** A Replace normalizer/decoder's literal pattern (regex patterns are not supported). */
function replacePattern(c: Json, where: string): [string, string] {
  const pattern = expectObject(c.pattern, `${where}.pattern`);
  if (typeof pattern.String !== 'string') fail(`${where}.pattern`, 'only a literal {"String": …} pattern is supported');
  return [pattern.String, expectString(c.content, `${where}.content`)];
}

function parseNormalizers(v: unknown): Normalizer[] {
  return componentList(v, 'normalizers', 'normalizer').map((c, i): Normalizer => {
    const where = `normalizer[${i}]`;
    if (c.type === 'Prepend') {
      const prefix = expectString(c.prepend, `${where}.prepend`);
      return (text) => (text.length > 0 ? prefix + text : text);
    }
    if (c.type === 'Replace') {
      const [from, to] = replacePattern(c, where);
      return (text) => text.replaceAll(from, to);
    }
    return fail(where, `unsupported normalizer type ${JSON.stringify(c.type)} (supported: Prepend, Replace)`);
  });
}

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

/** Turn each run of `<0xNN>` tokens into the text its bytes spell; an invalid run becomes one U+FFFD per byte. */
function byteFallback(tokens: string[]): string[] {
  const out: string[] = [];
  let bytes: number[] = [];
  const flush = (): void => {
    if (bytes.length === 0) return;
    try {
      out.push(new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes)));
    } catch {
      for (let i = 0; i < bytes.length; i++) out.push('\uFFFD');
    }
    bytes = [];
  };
  for (const token of tokens) {
    const byte = BYTE_TOKEN.exec(token);
    if (byte) bytes.push(parseInt(byte[1], 16));
    else {
      flush();
      out.push(token);
    }
  }
  flush();
  return out;
}

/** Remove up to `start` leading and `stop` trailing `content` characters from each token. */
function strip(content: string, start: number, stop: number): DecodeStep {
  return (tokens) =>
    tokens.map((token) => {
      const chars = [...token];
      let from = 0;
      while (from < start && from < chars.length && chars[from] === content) from++;
      let to = chars.length;
      while (chars.length - to < stop && to > from && chars[to - 1] === content) to--;
      return chars.slice(from, to).join('');
    });
}

function parseDecoder(v: unknown): DecodeStep[] {
  return componentList(v, 'decoders', 'decoder').map((c, i): DecodeStep => {
    const where = `decoder[${i}]`;
    switch (c.type) {
      case 'Replace': {
        const [from, to] = replacePattern(c, where);
        return (tokens) => tokens.map((t) => t.replaceAll(from, to));
      }
      case 'ByteFallback':
        return byteFallback;
      case 'Fuse':
        return (tokens) => [tokens.join('')];
      case 'Strip': {
        const content = expectString(c.content, `${where}.content`);
        if ([...content].length !== 1) fail(`${where}.content`, 'expected one character');
        return strip(content, Number(c.start ?? 0), Number(c.stop ?? 0));
      }
      default:
        return fail(where, `unsupported decoder type ${JSON.stringify(c.type)} (supported: Replace, ByteFallback, Fuse, Strip)`);
    }
  });
}

function parseAddedTokens(v: unknown): AddedToken[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail('added_tokens', 'expected a list');
  return v.map((raw, i) => {
    const t = expectObject(raw, `added_tokens[${i}]`);
    const content = expectString(t.content, `added_tokens[${i}].content`);
    if (!Number.isInteger(t.id) || (t.id as number) < 0) fail(`added_tokens[${i}].id`, 'expected a non-negative integer');
    // Such tokens would be matched in normalized text or with surrounding spaces eaten: Hymba has none.
    for (const flag of ['normalized', 'lstrip', 'rstrip', 'single_word'] as const) {
      if (t[flag] === true) fail(`added_tokens[${i}] (${content})`, `"${flag}": true is not supported`);
    }
    if (content.length === 0) fail(`added_tokens[${i}].content`, 'is empty');
    return { id: t.id as number, content, special: t.special === true };
  });
}

/** The ids TemplateProcessing puts before and after the sequence of a single input (`<s> $A` → [1], []). */
function parsePostProcessor(v: unknown, tokenToId: (t: string) => number | undefined): { before: number[]; after: number[] } {
  const result = { before: [] as number[], after: [] as number[] };
  if (v === null || v === undefined) return result;
  const pp = expectObject(v, 'post_processor');
  if (pp.type !== 'TemplateProcessing')
    fail('post_processor', `unsupported type ${JSON.stringify(pp.type)} (supported: TemplateProcessing)`);
  if (!Array.isArray(pp.single)) fail('post_processor.single', 'expected a list');
  const specials = isObject(pp.special_tokens) ? pp.special_tokens : {};
  let seenSequence = false;
  pp.single.forEach((raw, i) => {
    const item = expectObject(raw, `post_processor.single[${i}]`);
    if (isObject(item.Sequence)) {
      if (seenSequence) fail('post_processor.single', 'more than one $A');
      seenSequence = true;
    } else if (isObject(item.SpecialToken)) {
      const name = expectString(item.SpecialToken.id, `post_processor.single[${i}].SpecialToken.id`);
      const declared = specials[name];
      const ids = isObject(declared) && Array.isArray(declared.ids) ? (declared.ids as number[]) : [tokenToId(name)];
      if (ids.some((id) => !Number.isInteger(id))) fail(`post_processor.single[${i}]`, `unknown special token ${JSON.stringify(name)}`);
      (seenSequence ? result.after : result.before).push(...(ids as number[]));
    } else fail(`post_processor.single[${i}]`, 'expected {"Sequence": …} or {"SpecialToken": …}');
  });
  if (!seenSequence) fail('post_processor.single', 'has no $A');
  return result;
}

function parseBpe(v: unknown): { model: BpeModel; vocab: Map<string, number> } {
  const m = expectObject(v, 'model');
  if (m.type !== 'BPE') fail('model.type', `expected "BPE", got ${JSON.stringify(m.type)}`);
  for (const key of ['dropout', 'continuing_subword_prefix', 'end_of_word_suffix'] as const) {
    if (m[key] !== null && m[key] !== undefined) fail(`model.${key}`, `only null is supported, got ${JSON.stringify(m[key])}`);
  }
  if (m.ignore_merges === true) fail('model.ignore_merges', 'only false is supported');

  const vocabObject = expectObject(m.vocab, 'model.vocab');
  const vocab = new Map<string, number>();
  for (const [piece, id] of Object.entries(vocabObject)) {
    if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= 2097152)
      fail(`model.vocab[${JSON.stringify(piece)}]`, `bad id ${JSON.stringify(id)}`);
    vocab.set(piece, id as number);
  }

  if (!Array.isArray(m.merges)) fail('model.merges', 'expected a list');
  const mergeRanks = new Map<number, number>();
  const mergeResults = new Int32Array(m.merges.length);
  m.merges.forEach((merge, rank) => {
    // Two spellings exist: "left right" (older files, Hymba's) and ["left", "right"].
    const parts = typeof merge === 'string' ? merge.split(' ') : merge;
    if (!Array.isArray(parts) || parts.length !== 2 || parts.some((p) => typeof p !== 'string')) {
      fail(`model.merges[${rank}]`, `expected "left right" or ["left", "right"], got ${JSON.stringify(merge)}`);
    }
    const [left, right] = parts as [string, string];
    const leftId = vocab.get(left);
    const rightId = vocab.get(right);
    const mergedId = vocab.get(left + right);
    if (leftId === undefined || rightId === undefined || mergedId === undefined) {
      fail(`model.merges[${rank}]`, `${JSON.stringify(merge)} uses a piece that is not in model.vocab`);
    }
    mergeRanks.set(pairKey(leftId, rightId), rank);
    mergeResults[rank] = mergedId;
  });

  let byteIds: Int32Array | null = null;
  if (m.byte_fallback === true) {
    byteIds = new Int32Array(256);
    for (let b = 0; b < 256; b++) {
      const piece = `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
      const id = vocab.get(piece);
      if (id === undefined) fail('model.vocab', `byte_fallback is on but ${piece} is missing`);
      byteIds[b] = id;
    }
  }
  const unkToken = m.unk_token;
  const unkId = typeof unkToken === 'string' ? (vocab.get(unkToken) ?? fail('model.unk_token', `${unkToken} is not in model.vocab`)) : null;
  return { model: { vocab, mergeRanks, mergeResults, byteIds, unkId, fuseUnk: m.fuse_unk === true }, vocab };
}

/** A `tokenizer_config.json` token entry: a plain string or `{"content": …}`. */
function configToken(config: Json | undefined, key: string, fallback: string): string {
  const v = config?.[key];
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.content === 'string') return v.content;
  return fallback;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class Tokenizer {
  /** Number of ids, added tokens included (32,001 for Hymba: 32,000 pieces + `[PAD]`). */
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  private readonly bpe: BpeModel;
  private readonly pieces: (string | undefined)[];
  private readonly ids: Map<string, number>;
  private readonly specialIds: Set<number>;
  /** Matches any added token, longest first, so `</s>` is found whole at its position. */
  private readonly addedTokenPattern: RegExp | null;
  private readonly addedIds: Map<string, number>;
  private readonly normalizers: Normalizer[];
  private readonly decodeSteps: DecodeStep[];
  private readonly template: { before: number[]; after: number[] };

  private constructor(json: Json, config: Json | undefined) {
    if (json.pre_tokenizer !== null && json.pre_tokenizer !== undefined) {
      fail('pre_tokenizer', 'only null is supported (Llama-2 tokenizers have none)');
    }
    const { model, vocab } = parseBpe(json.model);
    this.bpe = model;
    this.ids = new Map(vocab);
    const added = parseAddedTokens(json.added_tokens);
    for (const t of added) this.ids.set(t.content, t.id);
    this.addedIds = new Map(added.map((t) => [t.content, t.id]));
    this.specialIds = new Set(added.filter((t) => t.special).map((t) => t.id));

    this.vocabSize = 1 + [...this.ids.values()].reduce((max, id) => Math.max(max, id), 0);
    this.pieces = new Array(this.vocabSize);
    for (const [piece, id] of this.ids) this.pieces[id] = piece;

    const byLength = added.map((t) => t.content).sort((a, b) => b.length - a.length);
    this.addedTokenPattern = byLength.length > 0 ? new RegExp(byLength.map(escapeRegExp).join('|'), 'g') : null;
    this.normalizers = parseNormalizers(json.normalizer);
    this.decodeSteps = parseDecoder(json.decoder);
    this.template = parsePostProcessor(json.post_processor, (t) => this.ids.get(t));

    const bos = configToken(config, 'bos_token', '<s>');
    const eos = configToken(config, 'eos_token', '</s>');
    this.bosId = this.ids.get(bos) ?? fail('vocab', `the BOS token ${bos} is not in the vocabulary`);
    this.eosId = this.ids.get(eos) ?? fail('vocab', `the EOS token ${eos} is not in the vocabulary`);
  }

  /** Build from the parsed or raw text of `tokenizer.json` (+ `tokenizer_config.json` for the BOS/EOS names). */
  static fromJson(tokenizerJson: object | string, config?: object | string): Tokenizer {
    const parse = (v: object | string, name: string): Json => {
      let parsed: unknown = v;
      if (typeof v === 'string') {
        try {
          parsed = JSON.parse(v);
        } catch (e) {
          throw new TokenizerFormatError(`${name}: not valid JSON (${(e as Error).message})`);
        }
      }
      if (!isObject(parsed)) throw new TokenizerFormatError(`${name}: expected a JSON object`);
      return parsed;
    };
    return new Tokenizer(parse(tokenizerJson, 'tokenizer.json'), config === undefined ? undefined : parse(config, 'tokenizer_config.json'));
  }

  /** Token ids of `text`; with `<s>` first unless `addBos: false`. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new TokenizerInputError(`encode: expected a string, got ${typeof text}`);
    const ids: number[] = [];
    const encodePiece = (piece: string): void => {
      const normalized = this.normalizers.reduce((s, normalize) => normalize(s), piece);
      if (normalized.length > 0) for (const id of bpeEncode(this.bpe, normalized)) ids.push(id);
    };
    let start = 0;
    if (this.addedTokenPattern) {
      for (const match of text.matchAll(this.addedTokenPattern)) {
        encodePiece(text.slice(start, match.index));
        ids.push(this.addedIds.get(match[0])!);
        start = match.index + match[0].length;
      }
    }
    encodePiece(text.slice(start));
    if (opts.addBos ?? true) return [...this.template.before, ...ids, ...this.template.after];
    return ids;
  }

  /** The text of `ids`, special tokens left out unless `skipSpecial: false`. */
  decode(ids: number[], opts: DecodeOptions = {}): string {
    const skipSpecial = opts.skipSpecial ?? true;
    if (!Array.isArray(ids)) throw new TokenizerInputError(`decode: expected an array of token ids, got ${typeof ids}`);
    const tokens: string[] = [];
    ids.forEach((id, position) => {
      const piece = this.pieceAt(id, `decode: token id at position ${position}`);
      if (!(skipSpecial && this.specialIds.has(id))) tokens.push(piece);
    });
    return this.decodeSteps.reduce((t, step) => step(t), tokens).join('');
  }

  /** The vocabulary piece of `id`, e.g. 15043 → "▁Hello", 13 → "<0x0A>". */
  idToToken(id: number): string {
    return this.pieceAt(id, 'idToToken');
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  /** True for the special tokens (`<unk>`, `<s>`, `</s>`, `[PAD]`), the ones `skipSpecial` leaves out. */
  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  private pieceAt(id: number, where: string): string {
    const piece = Number.isInteger(id) ? this.pieces[id] : undefined;
    if (piece === undefined) throw new TokenizerInputError(`${where}: ${JSON.stringify(id)} is not a token id (0..${this.vocabSize - 1})`);
    return piece;
  }
}
