// Sampling: seeded determinism, top-k / top-p support, temperature → 0 is greedy, frequencies follow the softmax.
import { describe, it, expect } from 'vitest';
import { argmax, generate, mulberry32, Sampler, samplingDistribution, SamplingError } from '../engine/sampling.ts';
import type { DecodeSession, StepResult } from '../engine/session/types.ts';

// Hand-made logits: token 3 is the most likely, then 0, then 5, …
const logits = Float32Array.from([2.0, -1.0, 0.5, 3.0, -2.0, 1.5, 0.0, -0.5]);
const byLikelihood = [3, 0, 5, 2, 6, 7, 1, 4];

function draws(opts: ConstructorParameters<typeof Sampler>[0], n: number): number[] {
  const s = new Sampler(opts);
  return Array.from({ length: n }, () => s.next(logits));
}

describe('sampling', () => {
  it('mulberry32 is deterministic per seed and uniform-looking in [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 10000 }, () => a());
    expect(Array.from({ length: 10000 }, () => b())).toEqual(xs);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(Math.abs(xs.reduce((s, x) => s + x, 0) / xs.length - 0.5)).toBeLessThan(0.01);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const o = { temperature: 1.5, seed: 7 };
    expect(draws(o, 200)).toEqual(draws(o, 200));
    expect(draws({ ...o, seed: 8 }, 200)).not.toEqual(draws(o, 200));
  });

  it('greedy is the argmax (temperature 0 and temperature → 0)', () => {
    expect(argmax(logits)).toBe(3);
    expect(draws({}, 20).every((t) => t === 3)).toBe(true);
    expect(draws({ temperature: 1e-4, seed: 3 }, 200).every((t) => t === 3)).toBe(true);
  });

  it('top-k keeps exactly the k most likely tokens', () => {
    expect(samplingDistribution(logits, { temperature: 1, topK: 3 }).ids).toEqual([3, 0, 5]);
    const seen = new Set(draws({ temperature: 5, topK: 3, seed: 1 }, 2000));
    expect([...seen].sort()).toEqual([0, 3, 5]);
  });

  it('top-p keeps the smallest most likely set reaching p', () => {
    // softmax at T = 1: p(3) ≈ 0.562, p(0) ≈ 0.207, p(5) ≈ 0.125 → 0.5 needs {3}, 0.7 needs {3, 0}, 0.8 needs {3, 0, 5}.
    const z = Array.from(logits).reduce((s, l) => s + Math.exp(l), 0);
    const p = (i: number) => Math.exp(logits[i]) / z;
    expect(p(3)).toBeGreaterThan(0.5);
    expect(p(3) + p(0)).toBeGreaterThan(0.7);
    expect(p(3) + p(0)).toBeLessThan(0.8);
    expect(samplingDistribution(logits, { temperature: 1, topP: 0.5 }).ids).toEqual([3]);
    expect(samplingDistribution(logits, { temperature: 1, topP: 0.7 }).ids).toEqual([3, 0]);
    expect(samplingDistribution(logits, { temperature: 1, topP: 0.8 }).ids).toEqual([3, 0, 5]);
    expect(new Set(draws({ temperature: 1, topP: 0.7, seed: 2 }, 1000))).toEqual(new Set([3, 0]));
    // top-k then top-p: renormalised probabilities sum to 1.
    const d = samplingDistribution(logits, { temperature: 2, topK: 5, topP: 0.9 });
    expect(d.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(d.ids).toEqual(byLikelihood.slice(0, d.ids.length));
  });

  it('draw frequencies follow softmax(logits / T)', () => {
    const T = 2;
    const n = 20000;
    const counts = new Array(8).fill(0);
    for (const t of draws({ temperature: T, seed: 11 }, n)) counts[t]++;
    const z = Array.from(logits).reduce((s, l) => s + Math.exp(l / T), 0);
    for (let i = 0; i < 8; i++) expect(Math.abs(counts[i] / n - Math.exp(logits[i] / T) / z)).toBeLessThan(0.015);
  });

  it('refuses bad options with SamplingError', () => {
    expect(() => new Sampler({ temperature: -1 })).toThrow(SamplingError);
    expect(() => new Sampler({ temperature: 1, topK: 0 })).toThrow(/topK/);
    expect(() => new Sampler({ temperature: 1, topP: 0 })).toThrow(/topP/);
    expect(() => new Sampler({ temperature: 1, topP: 1.5 })).toThrow(/topP/);
    expect(() => new Sampler({ seed: 0.5 })).toThrow(/seed/);
  });

  it('generate: one prefill, then maxNewTokens − 1 steps fed with the chosen ids', async () => {
    // A fake session whose logits favour (last id + 1) mod 8, so greedy counts upward.
    const fed: Array<['prefill', number[]] | ['step', number]> = [];
    let last = 0;
    const out = (): StepResult => {
      const l = new Float32Array(8);
      l[(last + 1) % 8] = 1;
      return { logits: l, taps: new Map() };
    };
    const session = {
      length: 0,
      async prefill(ids: number[]) {
        fed.push(['prefill', ids]);
        last = ids.at(-1)!;
        return out();
      },
      async step(id: number) {
        fed.push(['step', id]);
        last = id;
        return out();
      },
    } as unknown as DecodeSession;
    const seen: number[] = [];
    const r = await generate(session, [1, 5], { maxNewTokens: 4, onToken: (id) => seen.push(id) });
    expect(r.ids).toEqual([6, 7, 0, 1]);
    expect(seen).toEqual(r.ids);
    expect(r.logits.map(argmax)).toEqual(r.ids);
    expect(fed).toEqual([
      ['prefill', [1, 5]],
      ['step', 6],
      ['step', 7],
      ['step', 0],
    ]);
    await expect(generate(session, [1], { maxNewTokens: 0 })).rejects.toThrow(SamplingError);
  });
});
