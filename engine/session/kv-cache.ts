// One KV-owning layer's cache on the CPU (hymba-spec.md §2.10): K and V rows (post-RoPE) by absolute position.
//
// Positions are written in order 0, 1, 2, … (the M meta tokens first, then the text). Which of them are kept:
//   global layer:  all of them — the buffer grows (doubling) up to M + maxContext slots;
//   SWA layer:     the M meta slots (fixed) plus a ring buffer of the `ring` newest text positions.
// A text position p ≥ M of an SWA layer lives in slot M + (p − M) mod ring, so a new entry overwrites the oldest.

import { tensor, type Tensor } from '../tensor.ts';
import { InputError } from '../model.ts';

export class KvCache {
  /** Fixed slots for the meta positions 0..meta−1. */
  readonly meta: number;
  /** Ring slots for the newest text positions (SWA), or null for a global layer that keeps everything. */
  readonly ring: number | null;
  /** Values per row: numKvHeads · qkHeadDim (K) and numKvHeads · vHeadDim (V). */
  readonly kWidth: number;
  readonly vWidth: number;
  /** Positions written so far; the next one written is `length`. */
  length = 0;
  private readonly maxSlots: number;
  private k: Float32Array;
  private v: Float32Array;

  constructor(opts: { meta: number; ring: number | null; kWidth: number; vWidth: number; maxPositions: number; initialSlots?: number }) {
    this.meta = opts.meta;
    this.ring = opts.ring;
    this.kWidth = opts.kWidth;
    this.vWidth = opts.vWidth;
    this.maxSlots = opts.ring === null ? opts.maxPositions : opts.meta + opts.ring;
    // An SWA layer reaches its steady size after W tokens: allocate it at once. A global one grows as it fills.
    const slots = opts.ring === null ? Math.min(this.maxSlots, opts.initialSlots ?? opts.meta + 64) : this.maxSlots;
    this.k = new Float32Array(slots * this.kWidth);
    this.v = new Float32Array(slots * this.vWidth);
  }

  /** Slots allocated right now (a global cache may hold spare room to grow into). */
  get slots(): number {
    return this.k.length / this.kWidth;
  }

  /** The absolute positions held, oldest first. */
  positions(): number[] {
    const out: number[] = [];
    for (let p = 0; p < Math.min(this.length, this.meta); p++) out.push(p);
    const first = this.ring === null ? this.meta : Math.max(this.meta, this.length - this.ring);
    for (let p = first; p < this.length; p++) out.push(p);
    return out;
  }

  /** Entries (positions) held, meta slots included: once an SWA ring is full, a new entry replaces the oldest. */
  get entries(): number {
    return Math.min(this.length, this.maxSlots);
  }

  private slot(p: number): number {
    return p < this.meta || this.ring === null ? p : this.meta + ((p - this.meta) % this.ring);
  }

  /** Append rows k [T, kWidth], v [T, vWidth] as positions length .. length+T−1 (an SWA ring keeps the newest). */
  append(k: Tensor, v: Tensor): void {
    const T = k.shape[0];
    if (this.ring === null && this.length + T > this.maxSlots) {
      throw new InputError(`the KV cache holds at most ${this.maxSlots} positions (meta tokens included); raise maxContext`);
    }
    if (this.ring === null && this.length + T > this.slots) this.grow(this.length + T);
    for (let t = 0; t < T; t++) {
      const s = this.slot(this.length + t);
      this.k.set(k.data.subarray(t * this.kWidth, (t + 1) * this.kWidth), s * this.kWidth);
      this.v.set(v.data.subarray(t * this.vWidth, (t + 1) * this.vWidth), s * this.vWidth);
    }
    this.length += T;
  }

  private grow(needed: number): void {
    const slots = Math.min(this.maxSlots, Math.max(needed, 2 * this.slots));
    const k = new Float32Array(slots * this.kWidth);
    const v = new Float32Array(slots * this.vWidth);
    k.set(this.k);
    v.set(this.v);
    this.k = k;
    this.v = v;
  }

  /** The held entries in position order: K [entries, kWidth], V [entries, vWidth] and their positions. */
  read(): { k: Tensor; v: Tensor; positions: number[] } {
    const positions = this.positions();
    const k = new Float32Array(positions.length * this.kWidth);
    const v = new Float32Array(positions.length * this.vWidth);
    positions.forEach((p, i) => {
      const s = this.slot(p);
      k.set(this.k.subarray(s * this.kWidth, (s + 1) * this.kWidth), i * this.kWidth);
      v.set(this.v.subarray(s * this.vWidth, (s + 1) * this.vWidth), i * this.vWidth);
    });
    return { k: tensor([positions.length, this.kWidth], k), v: tensor([positions.length, this.vWidth], v), positions };
  }
}
