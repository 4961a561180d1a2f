// Pins the Q/K/V conv finding (the previous zoo's recipe; the new zoo trains without it, and hymba-conv shows it as a
// finding, docs/zoo.md): on a small MQAR (float64 reference, CPU, seeded), two
// attention layers with the width-2 Q/K/V conv learn the key→value binding within 300 steps, and the same model
// without it is still on the "some value from the context" plateau (ln 4 ≈ 1.39 and above).
import { describe, expect, it } from 'vitest';
import { referenceTrain, smallMqarConfig } from '../engine/train/reference-train.ts';

const meanOfLast = (xs: Float64Array, n: number) => xs.subarray(xs.length - n).reduce((a, b) => a + b, 0) / n;

describe('the zoo recipe at small scale', () => {
  it('attention learns MQAR fast with the Q/K/V short conv and stays on the plateau without it', () => {
    const run = (overrides: Record<string, unknown>) =>
      meanOfLast(
        referenceTrain(smallMqarConfig(['attention', 'attention'], overrides), { steps: 1500, stopAfter: 300, lr: 3e-3 }).losses,
        50,
      );
    const withConv = run({ lab_qkv_conv: 2 });
    const without = run({});
    console.log(`mean loss of steps 251–300: with lab_qkv_conv ${withConv.toFixed(3)}, without ${without.toFixed(3)}`);
    expect(withConv).toBeLessThan(0.7);
    expect(without).toBeGreaterThan(1.5);
  }, 600_000);
});
