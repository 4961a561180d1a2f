// The CPU reference engine's controls: stepping, meta tokens off, ablation, window override, taps.
import { describe, it, expect, beforeAll } from 'vitest';
import { loadCheckpoint, type Checkpoint } from '../engine/checkpoint/load.ts';
import { folderFiles } from '../engine/checkpoint/folder.node.ts';
import { CpuEngine } from '../engine/cpu/forward.ts';
import { parseAblation, betaMasks, formatAblation, AblationError } from '../engine/ablation.ts';
import { rmsnorm } from '../engine/cpu/ops.ts';
import { weightF32 } from '../engine/checkpoint/load.ts';
import { InputError, matchTaps, tapNames } from '../engine/model.ts';
import { maxAbsDiff } from '../engine/tensor.ts';
import { goldenDir } from './paths.ts';

let ck: Checkpoint;
let engine: CpuEngine;
const ids = [1, 17, 42, 99, 3, 250, 8, 61, 77, 5, 13, 200, 31, 64, 128, 9, 11, 12, 14, 180, 2, 7];

beforeAll(async () => {
  ck = await loadCheckpoint(folderFiles(goldenDir('pub_a_m8_d64')));
  engine = new CpuEngine(ck);
});

describe('CpuEngine', () => {
  it('steps through the same ops as a full pass and ends with the same logits', async () => {
    const full = await engine.forward(ids);
    const names: string[] = [];
    let last;
    for await (const step of engine.steps(ids)) {
      names.push(step.name);
      last = step;
    }
    expect(names[0]).toBe('hidden_states.0');
    expect(names.at(-1)).toBe('logits');
    expect(names).toContain('layers.3.attn.probs');
    expect(names).toContain('layers.3.ssm_out');
    expect(maxAbsDiff(await last!.read('logits'), full.logits)).toBe(0);
  });

  it('without meta tokens runs on the text alone', async () => {
    const r = await engine.forward(ids, { meta: false, taps: ['hidden_states.0', 'layers.0.attn.probs'] });
    expect(r.taps.get('hidden_states.0')!.shape).toEqual([ids.length, 64]);
    expect(r.taps.get('layers.0.attn.probs')!.shape).toEqual([4, ids.length, ids.length]);
    const withMeta = await engine.forward(ids);
    expect(maxAbsDiff(r.logits, withMeta.logits)).toBeGreaterThan(1e-3);
  });

  it('attention rows sum to one and respect the sliding window plus meta tokens', async () => {
    const M = 8;
    const W = 16;
    const long = Array.from({ length: 30 }, (_, i) => (i * 37 + 1) % 256);
    const r = await engine.forward(long, { taps: ['layers.1.attn.probs'] });
    const p = r.taps.get('layers.1.attn.probs')!; // layer 1 is a sliding-window layer
    const N = M + long.length;
    for (let h = 0; h < 4; h++) {
      for (let q = 0; q < N; q++) {
        let sum = 0;
        for (let k = 0; k < N; k++) {
          const v = p.data[h * N * N + q * N + k];
          sum += v;
          const visible = k <= q && (q - k <= W || k < M);
          if (!visible) expect(v).toBe(0);
        }
        expect(sum).toBeCloseTo(1, 5);
      }
    }
    // A narrower window at inference hides more keys.
    const narrow = await engine.forward(long, { window: 4, taps: ['layers.1.attn.probs'] });
    const pn = narrow.taps.get('layers.1.attn.probs')!;
    expect(pn.data[(N - 1) * N + (N - 1 - 5)]).toBe(0);
    expect(p.data[(N - 1) * N + (N - 1 - 5)]).toBeGreaterThan(0);
  });

  it('ablating a whole attention branch leaves only the β2-scaled SSM half in the fusion', async () => {
    const ablation = parseAblation('attn@2', ck.config);
    const r = await engine.forward(ids, { ablation, taps: ['layers.2.fused', 'layers.2.ssm_out'] });
    const beta2 = weightF32(ck.weights.get('model.layers.2.mamba.pre_avg_layernorm2.weight')!);
    const expected = rmsnorm(r.taps.get('layers.2.ssm_out')!, beta2, 1e-6);
    expect(
      maxAbsDiff(
        r.taps.get('layers.2.fused')!.data,
        expected.data.map((v) => v / 2),
      ),
    ).toBeLessThan(1e-6);
  });

  it('ablating one attention head zeroes exactly that head’s channels of β1', () => {
    const masks = betaMasks(ck.config, parseAblation('attn@3:1,ssm@*:0', ck.config));
    const dv = ck.config.layers[3].vHeadDim;
    expect(Array.from(masks[3].attn!.subarray(dv, 2 * dv)).every((v) => v === 0)).toBe(true);
    expect(Array.from(masks[3].attn!.subarray(0, dv)).every((v) => v === 1)).toBe(true);
    expect(masks[0].attn).toBeNull();
    for (const m of masks) expect(m.ssm![0]).toBe(0);
    expect(formatAblation(parseAblation('attn@3:1, ssm@*', ck.config))).toBe('attn@3:1,ssm@*');
  });

  it('rejects bad ablations, ids and taps with specific errors', async () => {
    expect(() => parseAblation('attn@9', ck.config)).toThrow(AblationError);
    expect(() => parseAblation('attn@1:7', ck.config)).toThrow(/4 attention heads/);
    expect(() => parseAblation('heads', ck.config)).toThrow(/attn@LAYER/);
    await expect(engine.forward([])).rejects.toThrow(InputError);
    await expect(engine.forward([1, 256])).rejects.toThrow(/outside the vocabulary 0..255/);
    await expect(engine.forward([1], { taps: ['layers.0.nope'] })).rejects.toThrow(/unknown tap/);
    await expect(engine.forward([1], { window: 0 })).rejects.toThrow(/window/);
  });

  it('expands tap patterns against the layer map', () => {
    const t = matchTaps(ck.config, ['layers.*.attn.k']);
    // only KV owners have their own K: layers 0, 1, 3, 4, 5 (layer 2 reuses layer 1's)
    expect([...t].sort()).toEqual(['layers.0.attn.k', 'layers.1.attn.k', 'layers.3.attn.k', 'layers.4.attn.k', 'layers.5.attn.k']);
    expect(tapNames(ck.config)).toContain('logits');
  });
});
