// Byte-pair encoding of one piece of normalized text, exactly as the `tokenizers` library's BPE model does it
// (its `merge_word` + `Word::merge_all`, without dropout, which Hymba does not use).
//
// 1. Every character becomes its own symbol: its vocabulary id, or, when the vocabulary lacks it, one `<0xNN>`
//    symbol per UTF-8 byte (byte fallback), or `<unk>` (consecutive unknowns fused into one when `fuse_unk`).
// 2. Repeatedly merge the adjacent pair whose merge rule comes first in the `merges` list (lowest rank); among
//    equal ranks the leftmost pair wins. Stop when no adjacent pair has a rule.
//
// Step 2 uses a min-heap of candidate pairs over a linked list of symbols, so a long text with no pre-tokenizer
// (Hymba's whole input is one "word") costs O(n log n), not the O(n²) of rescanning for the best pair each time.

import { TokenizerInputError } from './errors.ts';

export interface BpeModel {
  /** piece → id for the 32,000 pieces of `model.vocab`. */
  vocab: Map<string, number>;
  /** pairKey(left, right) → rank (0 = applied first) of the merge rule that joins them. */
  mergeRanks: Map<number, number>;
  /** The id each rank's merge produces. */
  mergeResults: Int32Array;
  /** The `<0xNN>` id of each byte 0..255, or null when the vocabulary has no byte pieces (no byte fallback). */
  byteIds: Int32Array | null;
  unkId: number | null;
  fuseUnk: boolean;
}

/** A pair of ids as one Map key (ids are below 2^21, so the key stays an exact integer). */
export const pairKey = (left: number, right: number): number => left * 2097152 + right;

const utf8 = new TextEncoder();

/** The initial symbols of `text`: one per character (or per byte, through byte fallback). */
function initialSymbols(model: BpeModel, text: string): number[] {
  const ids: number[] = [];
  let lastWasUnk = false;
  for (const char of text) {
    const id = model.vocab.get(char);
    if (id !== undefined) {
      ids.push(id);
      lastWasUnk = false;
    } else if (model.byteIds) {
      for (const byte of utf8.encode(char)) ids.push(model.byteIds[byte]);
      lastWasUnk = false;
    } else if (model.unkId !== null) {
      if (!(model.fuseUnk && lastWasUnk)) ids.push(model.unkId);
      lastWasUnk = true;
    } else {
      throw new TokenizerInputError(
        `the character ${JSON.stringify(char)} is not in the vocabulary and there is no <unk> or byte fallback`,
      );
    }
  }
  return ids;
}

/** A min-heap of numbers (here: rank · 2^32 + position, so it pops the lowest rank, then the leftmost). */
class MinHeap {
  private items: number[] = [];
  get size(): number {
    return this.items.length;
  }
  push(value: number): void {
    const a = this.items;
    a.push(value);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent] <= a[i]) break;
      [a[parent], a[i]] = [a[i], a[parent]];
      i = parent;
    }
  }
  pop(): number {
    const a = this.items;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let smallest = i;
        if (l < a.length && a[l] < a[smallest]) smallest = l;
        if (r < a.length && a[r] < a[smallest]) smallest = r;
        if (smallest === i) break;
        [a[smallest], a[i]] = [a[i], a[smallest]];
        i = smallest;
      }
    }
    return top;
  }
}

const POSITION_RANGE = 4294967296; // 2^32: positions below this, ranks above it, in one heap key

/** The BPE token ids of one piece of normalized text. */
export function bpeEncode(model: BpeModel, text: string): number[] {
  const ids = initialSymbols(model, text);
  const n = ids.length;
  if (n < 2) return ids;
  // Symbols form a linked list; a merge keeps the left symbol (with the merged id) and unlinks the right one.
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const alive = new Uint8Array(n).fill(1);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  const heap = new MinHeap();
  const pushPair = (pos: number): void => {
    if (pos < 0 || next[pos] < 0) return;
    const rank = model.mergeRanks.get(pairKey(ids[pos], ids[next[pos]]));
    if (rank !== undefined) heap.push(rank * POSITION_RANGE + pos);
  };
  for (let i = 0; i + 1 < n; i++) pushPair(i);

  while (heap.size > 0) {
    const entry = heap.pop();
    const rank = Math.floor(entry / POSITION_RANGE);
    const pos = entry - rank * POSITION_RANGE;
    // Entries go stale when a neighbour merged first; the pair now at `pos` must still be the one ranked.
    if (!alive[pos] || next[pos] < 0) continue;
    const right = next[pos];
    if (model.mergeRanks.get(pairKey(ids[pos], ids[right])) !== rank) continue;
    ids[pos] = model.mergeResults[rank];
    alive[right] = 0;
    next[pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = pos;
    pushPair(prev[pos]);
    pushPair(pos);
  }

  const out: number[] = [];
  for (let i = 0; i >= 0; i = next[i]) out.push(ids[i]);
  return out;
}
