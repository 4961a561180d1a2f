// Streaming detokenization for chat: text appears as token ids arrive, without ever showing half a character.
//
// An emoji like 🙂 arrives as four byte-fallback tokens (<0xF0> <0x9F> <0x99> <0x82>); decoding after the first
// one would print "\uFFFD". So each step decodes a short window of recent ids twice, with and without the new
// ones, and emits the difference only once it no longer ends in U+FFFD (the same scheme as Hugging Face's
// text-generation-inference). Decoding windows instead of single tokens also keeps the decoder's own rules
// (the one stripped leading space, byte runs) exactly as in Tokenizer.decode: the pieces a stream emits,
// joined, equal decode(allIds) whenever the byte runs are valid UTF-8 (anything a model produces in practice).
import type { DecodeOptions, Tokenizer } from './tokenizer.ts';

export class IncrementalDecoder {
  private readonly tokenizer: Tokenizer;
  private readonly opts: DecodeOptions;
  private readonly ids: number[] = [];
  /** ids[prefixStart..readEnd) were already shown and are decoded again only as context for what follows. */
  private prefixStart = 0;
  private readEnd = 0;

  constructor(tokenizer: Tokenizer, opts: DecodeOptions = {}) {
    this.tokenizer = tokenizer;
    this.opts = opts;
  }

  /** Add one generated id; returns the text it completes (often '', e.g. mid-way through a multi-byte character). */
  push(id: number): string {
    this.tokenizer.idToToken(id); // throws a TokenizerInputError for an unknown id before it enters the stream
    this.ids.push(id);
    return this.emit(false);
  }

  /** End of stream: whatever is still held back (an incomplete byte sequence decodes as U+FFFD here). */
  flush(): string {
    return this.emit(true);
  }

  private emit(final: boolean): string {
    const shown = this.tokenizer.decode(this.ids.slice(this.prefixStart, this.readEnd), this.opts);
    const all = this.tokenizer.decode(this.ids.slice(this.prefixStart), this.opts);
    if (all.length <= shown.length || (!final && all.endsWith('\uFFFD'))) return '';
    this.prefixStart = this.readEnd;
    this.readEnd = this.ids.length;
    return all.slice(shown.length);
  }
}
