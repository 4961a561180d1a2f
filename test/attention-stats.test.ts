// attentionStats on hand-built probability tensors, where every expected share and entropy is worked out by hand.
import { describe, expect, it } from 'vitest';
import { attentionStats, meanOverHeads, AttentionStatsError } from '../engine/analysis/attention-stats.ts';
import { tensor } from '../engine/tensor.ts';

/** [H, N, N] from per-head lists of rows (each row N long). */
function probs(heads: number[][][]): ReturnType<typeof tensor> {
  const H = heads.length;
  const N = heads[0].length;
  return tensor([H, N, N], heads.flat(2));
}

describe('attentionStats', () => {
  // N = 5: two meta tokens (0, 1), text tokens 2, 3, 4. Default rows: 3 and 4 (the text rows after the first).
  const sink = [
    [1, 0, 0, 0, 0],
    [0.5, 0.5, 0, 0, 0],
    [0.5, 0.25, 0.25, 0, 0],
    [0.5, 0.25, 0.125, 0.125, 0], // row 3: meta .75, first .125, self .125, cross 0
    [0.25, 0.25, 0.25, 0, 0.25], // row 4: meta .5, first .25, self .25, cross 0
  ];
  const uniformText = [
    [1, 0, 0, 0, 0],
    [0.5, 0.5, 0, 0, 0],
    [0, 0, 1, 0, 0],
    [0, 0, 0.5, 0.5, 0], // row 3: first .5, self .5
    [0, 0, 0.25, 0.5, 0.25], // row 4: first .25, cross .5, self .25
  ];

  it('splits each row into meta / first / self / cross and averages over the text rows after the first', () => {
    const [a, b] = attentionStats(probs([sink, uniformText]), { numMeta: 2 });
    expect(a.meta).toBeCloseTo((0.75 + 0.5) / 2, 12);
    expect(a.first).toBeCloseTo((0.125 + 0.25) / 2, 12);
    expect(a.self).toBeCloseTo((0.125 + 0.25) / 2, 12);
    expect(a.cross).toBeCloseTo(0, 12);
    expect(b.meta).toBe(0);
    expect(b.first).toBeCloseTo((0.5 + 0.25) / 2, 12);
    expect(b.self).toBeCloseTo((0.5 + 0.25) / 2, 12);
    expect(b.cross).toBeCloseTo((0 + 0.5) / 2, 12);
  });

  it('gives the mean row entropy in nats', () => {
    const [a, b] = attentionStats(probs([sink, uniformText]), { numMeta: 2 });
    // row 3 of sink: −(.5 ln .5 + .25 ln .25 + 2 · .125 ln .125) = 1.75 ln 2; row 4: 4 keys at .25 → ln 4 = 2 ln 2.
    expect(a.entropy).toBeCloseTo(((1.75 + 2) * Math.LN2) / 2, 12);
    // uniformText row 3: ln 2; row 4: −(.25 ln .25 · 2 + .5 ln .5) = 1.5 ln 2.
    expect(b.entropy).toBeCloseTo(((1 + 1.5) * Math.LN2) / 2, 12);
  });

  it('a one-hot row has entropy 0 and all its mass in one category', () => {
    const oneHot = [
      [1, 0, 0],
      [0, 1, 0],
      [1, 0, 0],
    ];
    const [s] = attentionStats(probs([oneHot]), { numMeta: 1 }); // rows: 2 only
    expect(s).toEqual({ meta: 1, first: 0, self: 0, cross: 0, entropy: 0 });
  });

  it('with meta tokens off the first text token is position 0', () => {
    const noMeta = [
      [1, 0, 0],
      [0.75, 0.25, 0],
      [0.5, 0.25, 0.25],
    ];
    const [s] = attentionStats(probs([noMeta]), { numMeta: 0 });
    expect(s.meta).toBe(0);
    expect(s.first).toBeCloseTo((0.75 + 0.5) / 2, 12);
    expect(s.self).toBeCloseTo((0.25 + 0.25) / 2, 12);
    expect(s.cross).toBeCloseTo((0 + 0.25) / 2, 12);
  });

  it('honours explicit rows and firstText; on the first text row the shared key counts as self', () => {
    const [s] = attentionStats(probs([sink]), { numMeta: 2, firstText: 2, rows: [2] });
    expect(s).toEqual({ meta: 0.75, first: 0, self: 0.25, cross: 0, entropy: expect.closeTo(1.5 * Math.LN2, 12) });
    const [t] = attentionStats(probs([sink]), { numMeta: 2, firstText: 3, rows: [4] });
    expect(t.first).toBe(0); // key 3 gets nothing from row 4
    expect(t.cross).toBe(0.25); // key 2 is now just another text token
  });

  it('averages over heads', () => {
    const m = meanOverHeads(attentionStats(probs([sink, uniformText]), { numMeta: 2 }));
    expect(m.meta).toBeCloseTo(0.3125, 12);
    expect(m.cross).toBeCloseTo(0.125, 12);
  });

  it('rejects malformed input with a typed error that says what was expected', () => {
    const p = probs([sink]);
    expect(() => attentionStats(tensor([5, 5], new Float32Array(25)), { numMeta: 0 })).toThrow(AttentionStatsError);
    expect(() => attentionStats(tensor([1, 4, 5], new Float32Array(20)), { numMeta: 0 })).toThrow(/\[heads, N, N\], got \[1, 4, 5\]/);
    expect(() => attentionStats(p, { numMeta: 5 })).toThrow(/numMeta must be an integer in 0\.\.4/);
    expect(() => attentionStats(p, { numMeta: 2, firstText: 1 })).toThrow(/firstText must be an integer in 2\.\.4/);
    expect(() => attentionStats(p, { numMeta: 2, rows: [7] })).toThrow(/query row 7 is outside 0\.\.4/);
    expect(() => attentionStats(p, { numMeta: 4 })).toThrow(/no query rows/);
    expect(() => meanOverHeads([])).toThrow(AttentionStatsError);
  });
});
