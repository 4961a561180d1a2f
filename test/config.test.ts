// parseConfig: the real Hymba-1.5B config gives the spec's sizes, and every value we cannot honour is a ConfigError
// that names the key and what was expected.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, expectedTensors, parameterCount, parseConfig } from '../engine/config.ts';
import { tinyConfig } from './fixtures/checkpoints.ts';
import { sharedDir } from './paths.ts';

const hymbaConfigText = readFileSync(path.join(sharedDir, 'hymba-1.5b', 'config.json'), 'utf8');

describe('Hymba-1.5B config.json', () => {
  const config = parseConfig(hymbaConfigText);
  const shapes = expectedTensors(config);

  it('has 1,522,797,824 parameters in 611 tensors', () => {
    expect(parameterCount(config)).toBe(1_522_797_824);
    expect(shapes.size).toBe(611);
  });

  it('gives in_proj the spec §3.2 shapes: 8960 rows for K/V owners, 8000 for consumers', () => {
    const owners = new Set([0, 1, 3, 5, 7, 9, 11, 13, 15, 16, 19, 21, 23, 25, 27, 29, 31]);
    for (let i = 0; i < 32; i++) {
      expect(shapes.get(`model.layers.${i}.mamba.in_proj.weight`), `layer ${i}`).toEqual([owners.has(i) ? 8960 : 8000, 1600]);
    }
    expect(shapes.get('model.embed_tokens.weight')).toEqual([32001, 1600]);
    expect(shapes.get('model.memory_tokens')).toEqual([128, 1600]);
    expect(shapes.get('model.layers.0.mamba.x_proj.0.weight')).toEqual([132, 3200]);
    expect(shapes.has('lm_head.weight')).toBe(false);
  });

  it('reads the derived sizes of spec §1.2', () => {
    expect([config.dInner, config.qkHeadDim, config.layers[0].vHeadDim, config.dtRank]).toEqual([3200, 64, 128, 100]);
    expect(config.layers.filter((l) => l.global).map((l) => l.index)).toEqual([0, 15, 31]);
    expect(config.layers[18].kvSource).toBe(16);
  });
});

/** parseConfig of the tiny valid config with `changes` applied (undefined deletes a key). */
function parseChanged(changes: Record<string, unknown>): ReturnType<typeof parseConfig> {
  const raw = tinyConfig();
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete raw[key];
    else raw[key] = value;
  }
  return parseConfig(JSON.stringify(raw));
}

/** The ConfigError parseChanged throws; checks it names `key` and that its message matches each pattern. */
function configError(changes: Record<string, unknown>, key: string, ...patterns: RegExp[]): ConfigError {
  let error: unknown;
  try {
    parseChanged(changes);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  const e = error as ConfigError;
  expect(e.key).toBe(key);
  expect(e.message).toContain(`"${key}"`);
  for (const p of patterns) expect(e.message).toMatch(p);
  return e;
}

describe('parseConfig refuses what it cannot honour', () => {
  it('accepts the tiny fixture config', () => {
    const c = parseChanged({});
    expect(c.layers.map((l) => [l.global, l.kvSource, l.ownsKv])).toEqual([
      [true, 0, true],
      [false, 1, true],
      [false, 1, false],
    ]);
  });

  it('refuses text that is not JSON, and JSON that is not an object', () => {
    expect(() => parseConfig('{"hidden_size": 8,')).toThrow(ConfigError);
    expect(() => parseConfig('{"hidden_size": 8,')).toThrow(/not valid JSON/);
    expect(() => parseConfig('[1, 2]')).toThrow(/expected a JSON object/);
    expect(() => parseConfig('null')).toThrow(/expected a JSON object/);
  });

  it('refuses wrong types, naming the key and what it expected', () => {
    configError({ hidden_size: '8' }, 'hidden_size', /expected a number, got "8"/);
    configError({ hidden_size: 'NaN' }, 'hidden_size', /expected a number/);
    configError({ num_hidden_layers: 2.5 }, 'num_hidden_layers', /expected an integer, got 2\.5/);
    configError({ vocab_size: -4 }, 'vocab_size', /expected ≥ 1, got -4/);
    configError({ vocab_size: undefined }, 'vocab_size', /is missing/);
    configError({ tie_word_embeddings: 'yes' }, 'tie_word_embeddings', /expected true or false/);
    configError({ rope_type: 7 }, 'rope_type', /expected a string/);
    configError({ global_attn_idx: [0.5] }, 'global_attn_idx', /expected a list of integers/);
    configError({ model_type: 'llama' }, 'model_type', /expected "hymba"/);
  });

  it('refuses the official options we do not implement', () => {
    configError({ num_experts: 2 }, 'num_experts', /2 is not supported \(supported: 1\)/);
    configError({ rope_type: 'yarn' }, 'rope_type', /"yarn" is not supported \(supported: "ntk", "default"\)/);
    configError({ kq_norm: 'rms' }, 'kq_norm', /"rms" is not supported/);
    configError({ memory_tokens_interspersed_every: 4 }, 'memory_tokens_interspersed_every', /4 is not supported/);
    configError({ layer_type: ['h', 'm', 'h'] }, 'layer_type', /expected 3 entries of "h"/);
  });

  it('refuses a layer map that cannot be built', () => {
    configError({ global_attn_idx: [0, 3] }, 'global_attn_idx', /layer 3 is outside 0\.\.2/);
    configError({ global_attn_idx: [-1] }, 'global_attn_idx', /layer -1 is outside 0\.\.2/);
    configError({ global_attn_idx: [0, 0] }, 'global_attn_idx', /layer 0 is listed twice/);
    configError({ kv_reuse_group: [[2, 1]] }, 'kv_reuse_group', /consumer 1 must come after its producer 2/);
    configError({ kv_reuse_group: [[0, 1]] }, 'kv_reuse_group', /layers 0 and 1 share K\/V but only one is global/);
    configError(
      {
        kv_reuse_group: [
          [1, 2],
          [2, 1],
        ],
      },
      'kv_reuse_group',
      /layer 2 appears in two groups/,
    );
    configError({ kv_reuse_group: [[1]] }, 'kv_reuse_group', /groups of ≥ 2 layer indices/);
    configError({ kv_reuse_group: [[1, 5]] }, 'kv_reuse_group', /layer 5 is outside 0\.\.2/);
    configError({ sliding_window: 0 }, 'sliding_window', /must be ≥ 1/);
  });

  it('refuses lab_ keys that do not fit the model', () => {
    configError(
      { lab_mixers: ['hybrid', 'ssm'] },
      'lab_mixers',
      /expected 3 entries of "hybrid", "attention" or "ssm", got \["hybrid","ssm"\]/,
    );
    configError({ lab_mixers: ['hybrid', 'mlp', 'ssm'] }, 'lab_mixers', /expected 3 entries/);
    configError(
      { lab_mixers: ['hybrid', 'ssm', 'hybrid'] },
      'kv_reuse_group',
      /layer 2 reuses the K\/V of layer 1, which has no attention/,
    );
    configError(
      { num_key_value_heads: 2, lab_attention_heads: [2, 3, 3] },
      'lab_attention_heads',
      /layer 1: 3 query heads is not a positive multiple of num_key_value_heads 2/,
    );
    configError({ lab_attention_heads: [2, 2] }, 'lab_attention_heads', /expected 3 entries, got 2/);
    configError({ lab_attention_heads: [2, 4, 2] }, 'lab_attention_heads', /layer 2 shares K\/V with layer 1 but their V head dims differ/);
  });

  it('refuses sizes that would make parsing allocate or loop without bound', () => {
    const t0 = performance.now();
    configError({ num_hidden_layers: 1e15 }, 'num_hidden_layers', /expected ≤ 1024/);
    configError({ hidden_size: 2 ** 40 }, 'hidden_size', /expected ≤ 2147483647/);
    configError({ mamba_expand: 1e300 }, 'mamba_expand', /d_inner/);
    expect(performance.now() - t0).toBeLessThan(100);
  });

  it('refuses RoPE settings whose NTK base is not a finite positive number', () => {
    configError({ rope_theta: 0 }, 'rope_theta', /expected > 0/);
    configError(
      { orig_max_position_embeddings: 128 },
      'orig_max_position_embeddings',
      /below 2 · max_position_embeddings \(128\), got 128/,
    );
    configError({ hidden_size: 4, num_attention_heads: 2 }, 'kq_head_dim', /head dim above 2, got 2/);
  });

  it('keeps error messages short and safe for values nested too deep to stringify', () => {
    // Text, not an object: the test itself could not JSON.stringify this value. The later duplicate key wins.
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const text = JSON.stringify(tinyConfig()).slice(0, -1) + `,"kv_reuse_group":${deep}}`;
    expect(() => parseConfig(text)).toThrow(ConfigError);
    expect(() => parseConfig(text)).toThrow(/"kv_reuse_group": expected a list of groups of ≥ 2 layer indices, got \[…\]$/);
  });

  it('follows the official int(mamba_expand · hidden_size) for d_inner', () => {
    // 1.5 · 9 = 13.5 → 13 (the official code truncates).
    expect(parseChanged({ mamba_expand: 1.5, hidden_size: 9, num_attention_heads: 1, num_key_value_heads: 1, kq_head_dim: 4 }).dInner).toBe(
      13,
    );
  });
});
