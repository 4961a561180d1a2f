// The cache calculator against numbers derived by hand from the paper, the spec (§2.10, §4) and the cache
// lengths NVIDIA's own code reported for the golden models (README.json `kv_cache_len_after_each_step`).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseConfig } from '../engine/config.ts';
import { resolveConfig } from '../engine/presets.ts';
import { cacheBytes, cacheCurve, toCacheUsage, CacheOptionsError, MB } from '../engine/cache/calculator.ts';
import { goldenDir, goldenNames } from './paths.ts';

const hymba = resolveConfig('hymba-1.5b');
const llama3b = resolveConfig('llama-3.2-3b');

// Hymba-1.5B by hand: one KV entry = 5 heads × (64 + 128) values × 2 B = 1,920 B at f16.
// 3 global owners (0, 15, 31) and 14 SWA owners; M = 128, W = 1024; 32 SSM layers with d_inner 3200, d_state 16.
const ENTRY_F16 = 1920;
const hymbaKvF16 = (n: number, keep: number) => ENTRY_F16 * (3 * (128 + n) + 14 * (128 + Math.min(n, keep)));

describe('dense baselines (paper Table 2: 8,000 tokens, FP16, MB = 10^6 B)', () => {
  test('Llama-3.2-3B: 2 · 28 · 8 · 128 · 8000 · 2 B = 917.504 MB', () => {
    const b = cacheBytes(llama3b, { seqLen: 8000, dtype: 'f16', windowRule: 'hf' });
    expect(b.kv_bytes).toBe(917_504_000);
    expect(b.total_bytes).toBe(917_504_000);
    expect(b.ssm_state_bytes + b.conv_state_bytes).toBe(0);
    expect(b.layers).toHaveLength(28);
  });

  // The paper's cache column, rounded to whole MB.
  const table2: Array<[string, number]> = [
    ['llama-3.2-3b', 918],
    ['llama-3.2-1b', 262],
    ['smollm2-1.7b', 1573],
    ['smollm-1.7b', 1573],
    ['phi-1.5', 1573],
    ['qwen2.5-1.5b', 229],
    ['h2o-danube2-1.8b', 492],
    ['amd-olmo-1b', 1049],
  ];
  test.each(table2)('%s reproduces %d MB', (name, paperMB) => {
    expect(Math.round(cacheBytes(resolveConfig(name), { seqLen: 8000 }).total_bytes / MB)).toBe(paperMB);
  });

  test('f32 doubles a baseline, bf16 equals f16', () => {
    expect(cacheBytes(llama3b, { seqLen: 100, dtype: 'f32' }).kv_bytes).toBe(2 * 28 * 8 * 128 * 100 * 4);
    expect(cacheBytes(llama3b, { seqLen: 100, dtype: 'bf16' }).kv_bytes).toBe(2 * 28 * 8 * 128 * 100 * 2);
  });
});

describe('Hymba-1.5B', () => {
  test('KV at 8,000 tokens, hf rule: 128 meta + 1024 newest per SWA owner = 77.78 MB', () => {
    const b = cacheBytes(hymba, { seqLen: 8000, dtype: 'f16', windowRule: 'hf' });
    expect(b.kv_bytes).toBe(77_783_040);
    expect(b.kv_bytes).toBe(hymbaKvF16(8000, 1024));
    expect((b.kv_bytes / MB).toFixed(2)).toBe('77.78');
  });

  test('prefill rule keeps one more entry per SWA owner (W + 1)', () => {
    const b = cacheBytes(hymba, { seqLen: 8000, windowRule: 'prefill' });
    expect(b.kv_bytes).toBe(77_783_040 + 14 * ENTRY_F16);
    expect(b.kv_bytes).toBe(hymbaKvF16(8000, 1025));
  });

  test('spec §4.1 examples (KV, f16, hf)', () => {
    const mb = (n: number) => (cacheBytes(hymba, { seqLen: n }).kv_bytes / MB).toFixed(2);
    expect([1000, 2000, 4000, 8000, 8192, 32000].map(mb)).toEqual(['36.82', '43.22', '54.74', '77.78', '78.89', '216.02']);
  });

  test('SSM state: 32 · 3200 · 16 values = 3.28 MB at f16, 6.55 MB at f32 (the session default)', () => {
    expect(cacheBytes(hymba, { seqLen: 8000, stateDtype: 'f16' }).ssm_state_bytes).toBe(3_276_800);
    const b = cacheBytes(hymba, { seqLen: 8000 });
    expect(b.ssm_state_bytes).toBe(6_553_600);
    expect((b.ssm_state_bytes / MB).toFixed(2)).toBe('6.55');
  });

  test('conv state: d_conv − 1 = 3 taps by default, 4 taps as HF keeps them', () => {
    expect(cacheBytes(hymba, { seqLen: 1 }).conv_state_bytes).toBe(32 * 3200 * 3 * 4);
    expect(cacheBytes(hymba, { seqLen: 1, stateDtype: 'f16', convTaps: 4 }).conv_state_bytes).toBe(819_200);
  });

  test("the paper's 78.6 MB = KV + a 4-tap f16 conv state (no SSM state); 918 / 78.6 = 11.67×", () => {
    const b = cacheBytes(hymba, { seqLen: 8000, dtype: 'f16', stateDtype: 'f16', convTaps: 4 });
    const paperConvention = b.kv_bytes + b.conv_state_bytes;
    expect(paperConvention).toBe(78_602_240);
    expect((paperConvention / MB).toFixed(1)).toBe('78.6');
    expect(918 / Number((paperConvention / MB).toFixed(1))).toBeCloseTo(11.68, 2);
    expect(b.total_bytes).toBe(paperConvention + 3_276_800);
  });

  test('ratio vs Llama-3.2-3B: ≈ 11.7–11.8× at 8k, ≈ 3× at 1k, growing with length', () => {
    const ratio = (n: number) => cacheBytes(llama3b, { seqLen: n }).kv_bytes / cacheBytes(hymba, { seqLen: n }).kv_bytes;
    expect(ratio(8000)).toBeGreaterThan(11.7);
    expect(ratio(8000)).toBeLessThan(11.85);
    expect(ratio(1000)).toBeGreaterThan(3.0);
    expect(ratio(1000)).toBeLessThan(3.2);
    // Asymptote: 114,688 B/token against 3 global layers × 1,920 B/token = 19.9×.
    expect(ratio(1_000_000)).toBeLessThan(114688 / 5760);
    expect(ratio(16000)).toBeGreaterThan(ratio(8000));
  });

  test('layer kinds and entries follow the layer map (spec §1.3)', () => {
    const b = cacheBytes(hymba, { seqLen: 5000 });
    const byKind = (k: string) => b.layers.filter((l) => l.kind === k).map((l) => l.layer);
    expect(byKind('global')).toEqual([0, 15, 31]);
    expect(byKind('swa')).toEqual([1, 3, 5, 7, 9, 11, 13, 16, 19, 21, 23, 25, 27, 29]);
    expect(byKind('consumer')).toEqual([2, 4, 6, 8, 10, 12, 14, 17, 18, 20, 22, 24, 26, 28, 30]);
    expect(b.layers[18].kv_source).toBe(16);
    for (const l of b.layers) {
      expect(l.kv_entries).toBe(l.kind === 'global' ? 5128 : l.kind === 'swa' ? 1152 : 0);
      expect(l.kv_bytes).toBe(l.kv_entries * ENTRY_F16);
    }
  });

  test('before the window fills, an SWA owner holds every token; seqLen 0 leaves only the meta slots', () => {
    const b = cacheBytes(hymba, { seqLen: 300 });
    expect(b.layers[1].kv_entries).toBe(428);
    expect(cacheBytes(hymba, { seqLen: 1024 }).layers[1].kv_entries).toBe(1152);
    expect(cacheBytes(hymba, { seqLen: 1025 }).layers[1].kv_entries).toBe(1152);
    expect(cacheBytes(hymba, { seqLen: 1025, windowRule: 'prefill' }).layers[1].kv_entries).toBe(1153);
    const empty = cacheBytes(hymba, { seqLen: 0 });
    expect(empty.layers[0].kv_entries).toBe(128);
    expect(empty.layers[1].kv_entries).toBe(128);
  });

  test('meta: false and a window override, as SessionOptions has them', () => {
    const b = cacheBytes(hymba, { seqLen: 3000, meta: false, window: 256 });
    expect(b.layers[0].kv_entries).toBe(3000);
    expect(b.layers[1].kv_entries).toBe(256);
    expect(b.kv_bytes).toBe(ENTRY_F16 * (3 * 3000 + 14 * 256));
  });
});

describe('golden models: entries equal what the official code held after every step', () => {
  test.each([...goldenNames])('%s', (name) => {
    const dir = goldenDir(name);
    if (!existsSync(dir)) return; // shared material absent (not a CI checkout)
    const config = parseConfig(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    const readme = JSON.parse(readFileSync(path.join(dir, 'README.json'), 'utf8'));
    const hfLens: Record<string, number[]> = readme.checks.kv_cache_len_after_each_step;
    const prefillLens: Record<string, number[]> = readme.checks.diag_kv_cache_len_after_each_step;
    const fed: number[] = readme.checks.tokens_fed_per_step;
    let seqLen = 0;
    fed.forEach((n, step) => {
      seqLen += n;
      const hf = cacheBytes(config, { seqLen, windowRule: 'hf' });
      const pf = cacheBytes(config, { seqLen, windowRule: 'prefill' });
      for (const l of hf.layers) {
        // HF trims SWA caches only from the first decode step; our session trims right after prefill.
        if (step === 0 && l.kind === 'swa') expect(l.kv_entries).toBeLessThanOrEqual(hfLens[l.layer][0]);
        else expect(l.kv_entries, `layer ${l.layer} step ${step}`).toBe(hfLens[l.layer][step]);
      }
      for (const [layer, lens] of Object.entries(prefillLens)) {
        if (step > 0) expect(pf.layers[Number(layer)].kv_entries, `prefill rule, layer ${layer} step ${step}`).toBe(lens[step]);
      }
    });
  });

  test('pub_a by hand: M = 8, W = 16; after the 40-token prompt an SWA owner holds 24 (hf) or 25 (prefill)', () => {
    const dir = goldenDir('pub_a_m8_d64');
    if (!existsSync(dir)) return;
    const config = parseConfig(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    const b = cacheBytes(config, { seqLen: 40, dtype: 'f32' });
    expect(b.layers.map((l) => l.kv_entries)).toEqual([48, 24, 0, 48, 24, 48]);
    expect(cacheBytes(config, { seqLen: 40, windowRule: 'prefill' }).layers[4].kv_entries).toBe(25);
    // One entry: 2 KV heads × (16 + 32) values × 4 B.
    expect(b.kv_bytes).toBe((48 * 3 + 24 * 2) * 2 * 48 * 4);
    // Six SSM layers: d_inner 128 × (3 conv taps + 16 states) × 4 B.
    expect(b.conv_state_bytes + b.ssm_state_bytes).toBe(6 * 128 * (3 + 16) * 4);
  });
});

describe('layers without an SSM or without attention', () => {
  test.skipIf(!existsSync(goldenDir('pub_a_m8_d64')))(
    'an attention-only layer has no recurrent state; an SSM-only layer owns no KV',
    () => {
      const raw = JSON.parse(readFileSync(path.join(goldenDir('pub_a_m8_d64'), 'config.json'), 'utf8'));
      const config = parseConfig({ ...raw, lab_mixers: ['attention', 'hybrid', 'hybrid', 'ssm', 'hybrid', 'hybrid'] });
      const b = cacheBytes(config, { seqLen: 10 });
      expect(b.layers[0]).toMatchObject({ kind: 'global', kv_entries: 18, conv_state_bytes: 0, ssm_state_bytes: 0 });
      expect(b.layers[3]).toMatchObject({ kind: 'ssm-only', kv_source: -1, kv_entries: 0, kv_bytes: 0, ssm_state_bytes: 128 * 16 * 4 });
      expect(b.ssm_state_bytes).toBe(5 * 128 * 16 * 4);
    },
  );
});

describe('options', () => {
  test.each([
    [{ seqLen: -1 }, 'seqLen'],
    [{ seqLen: 1.5 }, 'seqLen'],
    [{ seqLen: 10, dtype: 'f8' }, 'dtype'],
    [{ seqLen: 10, stateDtype: 'int4' }, 'stateDtype'],
    [{ seqLen: 10, windowRule: 'flex' }, 'windowRule'],
    [{ seqLen: 10, convTaps: -2 }, 'convTaps'],
    [{ seqLen: 10, window: 0 }, 'window'],
  ])('%j is refused naming %s', (opts, option) => {
    expect(() => cacheBytes(hymba, opts as never)).toThrow(CacheOptionsError);
    expect(() => cacheBytes(hymba, opts as never)).toThrow(`"${option}"`);
  });

  test('cacheCurve gives one point per length, equal to cacheBytes', () => {
    const curve = cacheCurve(hymba, [1000, 8000], { dtype: 'f16' });
    expect(curve.map((p) => p.seq_len)).toEqual([1000, 8000]);
    expect(curve[1].kv_bytes).toBe(77_783_040);
    expect(curve[0].total_bytes).toBe(cacheBytes(hymba, { seqLen: 1000 }).total_bytes);
  });

  test('toCacheUsage speaks the session interface', () => {
    const u = toCacheUsage(cacheBytes(hymba, { seqLen: 2000 }));
    expect(u.layers[2]).toMatchObject({ layer: 2, attention: 'consumer', kvSource: 1, kvEntries: 0, kv_bytes: 0 });
    expect(u.layers[0]).toMatchObject({ attention: 'global', kvEntries: 2128, kv_bytes: 2128 * ENTRY_F16 });
    expect(u.total_bytes).toBe(u.kv_bytes + u.conv_state_bytes + u.ssm_state_bytes);
  });
});
