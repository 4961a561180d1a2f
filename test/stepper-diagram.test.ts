// The stepper names and places every op the engine steps through, for every kind of layer the engine supports
// (hybrid, attention-only, SSM-only, KV-sharing consumer, meta tokens, the lab's Q/K/V conv): no op falls back to its
// raw name.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../engine/config.ts';
import { CpuEngine } from '../engine/cpu/forward.ts';
import { randomCheckpoint } from '../engine/session/random-checkpoint.ts';
import { TINY_MIXED, TINY_QKV_CONV } from '../engine/train/tiny-configs.ts';
import { boxesOf, describeOp } from '../site/lib/content/stepper-diagram.ts';

describe('stepper diagram', () => {
  for (const [name, raw] of [
    ['hybrid + SWA + KV sharing + meta + Q/K/V conv', TINY_QKV_CONV],
    ['attention / SSM / hybrid layers', TINY_MIXED],
  ] as const) {
    it(`${name}: every step has a title, a text and a box`, async () => {
      const config = parseConfig(raw);
      const engine = new CpuEngine(randomCheckpoint(config, 1));
      const names: string[] = [];
      for await (const step of engine.steps([1, 2, 3])) names.push(step.name);
      expect(names).toContain(TINY_QKV_CONV === raw ? 'layers.0.attn.qkv_conv' : 'layers.1.ssm.conv');
      for (const op of names) {
        const { title, text } = describeOp(op, config.numLayers);
        expect(title, op).not.toBe(op.replace(/^layers\.\d+\./, ''));
        expect(text.length, op).toBeGreaterThan(10);
        expect(boxesOf(op).length, op).toBeGreaterThan(0);
      }
    });
  }
});
