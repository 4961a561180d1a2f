// floatToBf16 / floatToHalf: known bit patterns, then whole sweeps against independent rounding (Node 24's
// Float16Array, and the test's own nearest-neighbour bf16 rounding).
import { describe, expect, it } from 'vitest';
import { floatToBf16, floatToHalf, halfToFloat } from '../engine/checkpoint/safetensors.ts';
import { bf16Round } from './fixtures/checkpoints.ts';

const f32FromBits = (b: number): number => new Float32Array(Uint32Array.of(b >>> 0).buffer)[0];

describe('float → 16-bit conversions', () => {
  it.each([
    [1, 0x3f80, 0x3c00],
    [-2, 0xc000, 0xc000],
    [0, 0x0000, 0x0000],
    [-0, 0x8000, 0x8000],
    [0.5, 0x3f00, 0x3800],
    [65504, 0x4780, 0x7bff], // the largest half; bf16 rounds it up to 65536
    [65519, 0x4780, 0x7bff], // below the midpoint to 65536: still the largest half
    [65520, 0x4780, 0x7c00], // the midpoint ties to the even pattern, which is infinity
    [Infinity, 0x7f80, 0x7c00],
    [-Infinity, 0xff80, 0xfc00],
    [NaN, 0x7fc0, 0x7e00],
    [3.4028234663852886e38, 0x7f80, 0x7c00], // the largest float: bf16 rounds to infinity
    [2 ** -14, 0x3880, 0x0400], // the smallest normal half
    [2 ** -24, 0x3380, 0x0001], // the smallest subnormal half
    [-(2 ** -24), 0xb380, 0x8001],
    [2 ** -25, 0x3300, 0x0000], // tie between 0 and 2^-24: even (0)
    [3 * 2 ** -25, 0x33c0, 0x0002], // tie between 1 and 2 units of 2^-24: even (2)
    [5 * 2 ** -25, 0x3420, 0x0002], // tie between 2 and 3 units: even (2)
    [2 ** -133, 0x0001, 0x0000], // the smallest subnormal bf16
    [2 ** -149, 0x0000, 0x0000], // the smallest float: under half a bf16 unit
    [1 + 2 ** -8, 0x3f80, 0x3c04], // bf16 tie → even (down)
    [1 + 3 * 2 ** -8, 0x3f82, 0x3c0c], // bf16 tie → even (up)
    [1 + 2 ** -11, 0x3f80, 0x3c00], // half tie → even (down)
    [1 + 3 * 2 ** -11, 0x3f80, 0x3c02], // half tie → even (up)
  ])('%f → bf16 %i, f16 %i', (x, bf16, half) => {
    expect(floatToBf16(x)).toBe(bf16);
    expect(floatToHalf(x)).toBe(half);
  });

  it('matches Float16Array on every half value, every midpoint between neighbours, and the floats next to each midpoint', () => {
    const half = new Float16Array(1);
    const halfBits = new Uint16Array(half.buffer);
    const reference = (x: number): number => ((half[0] = x), halfBits[0]); // a Float16Array store rounds to nearest even
    const mismatches: string[] = [];
    for (let h = 0; h < 0x7c00; h++) {
      halfBits[0] = h;
      const value = half[0];
      const mid = h === 0x7bff ? 65520 : (value + halfToFloat(h + 1)) / 2;
      const midBits = new Uint32Array(Float32Array.of(mid).buffer)[0];
      for (const v of [value, mid, f32FromBits(midBits - 1), f32FromBits(midBits + 1)]) {
        for (const s of [v, -v]) if (floatToHalf(s) !== reference(s)) mismatches.push(`${s}: ${floatToHalf(s)} vs ${reference(s)}`);
      }
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  it('halfToFloat inverts every half bit pattern', () => {
    const half = new Float16Array(1);
    const halfBits = new Uint16Array(half.buffer);
    for (let h = 0; h < 0x10000; h++) {
      halfBits[0] = h;
      if (!Object.is(halfToFloat(h), half[0])) expect([h, halfToFloat(h)]).toEqual([h, half[0]]);
    }
  });

  it('matches nearest-even bf16 rounding on floats around every bf16 midpoint in a sweep of exponents', () => {
    const mismatches: string[] = [];
    for (let exp = 0; exp < 255; exp += 3) {
      for (let top = 0; top < 128; top += 7) {
        const base = (exp << 23) | (top << 16);
        // The bf16 value itself, the exact midpoint above it, and the floats on either side of that midpoint.
        for (const bits of [base, base + 0x8000, base + 0x7fff, base + 0x8001]) {
          for (const sign of [0, 0x80000000]) {
            const x = f32FromBits(bits | sign);
            const want = new Uint32Array(Float32Array.of(bf16Round(x)).buffer)[0] >>> 16;
            if (floatToBf16(x) !== want) mismatches.push(`${x}: ${floatToBf16(x)} vs ${want}`);
          }
        }
      }
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
  });
});
