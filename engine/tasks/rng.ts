// A small seeded random number generator, so training data, evaluation sets and lesson examples are the same
// sequences in Node and in every browser. splitmix32 (Vigna's splitmix, 32-bit variant): tiny, fast, good enough
// for sampling synthetic tasks (not for cryptography).

export class Rng {
  private state: number;
  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new RangeError(`Rng: the seed must be an integer, got ${seed}`);
    this.state = seed >>> 0;
  }

  /** The generator's whole state (one u32): saved in training checkpoints, given back to `restore`. */
  snapshot(): number {
    return this.state;
  }

  /** Continue exactly where a `snapshot()` was taken. */
  restore(state: number): void {
    if (!Number.isInteger(state) || state < 0 || state > 0xffffffff) throw new RangeError(`Rng.restore: not a u32 state: ${state}`);
    this.state = state;
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [lo, hi). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.uniform() * (hi - lo));
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.uniform();
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** `count` distinct integers from [lo, hi), in random order (partial Fisher–Yates). */
  distinct(lo: number, hi: number, count: number): number[] {
    const n = hi - lo;
    if (count > n) throw new RangeError(`Rng.distinct: cannot draw ${count} distinct values from [${lo}, ${hi})`);
    const pool = Array.from({ length: n }, (_, i) => lo + i);
    for (let i = 0; i < count; i++) {
      const j = i + Math.floor(this.uniform() * (n - i));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    return pool.slice(0, count);
  }

  /** A new generator whose stream depends only on this seed and `salt` (for per-purpose streams). */
  static derive(seed: number, salt: number): Rng {
    const r = new Rng((seed ^ Math.imul(salt + 1, 0x27d4eb2d)) >>> 0);
    r.nextU32();
    return r;
  }
}
