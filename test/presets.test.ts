// Presets: the Hymba-1.5B config is the published one (spec §1, §3), the baselines are the public HF configs,
// and resolveConfig tells presets, Hymba configs and Llama-style configs apart.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError, expectedTensors, parameterCount, parseConfig, type HymbaConfig } from '../engine/config.ts';
import { PRESETS, PresetError, getPreset, presetNames, resolveConfig, transformerFromHfConfig, isTransformer } from '../engine/presets.ts';
import { goldenDir, sharedDir } from './paths.ts';

const hymba = resolveConfig('hymba-1.5b') as HymbaConfig;

describe('every preset', () => {
  test.each(presetNames())('%s resolves', (name) => {
    const m = resolveConfig(name);
    expect(isTransformer(m)).toBe(PRESETS[name].kind === 'transformer');
    if (isTransformer(m)) {
      expect(m.name).toBe(name);
      expect(m.heads % m.kvHeads).toBe(0);
    } else expect(m.numLayers).toBeGreaterThan(0);
  });

  test('the names the paper comparison needs are there', () => {
    expect(presetNames()).toEqual(
      expect.arrayContaining(['hymba-1.5b', 'llama-3.2-3b', 'llama-3.2-1b', 'smollm2-1.7b', 'qwen2.5-1.5b', 'phi-1.5', 'h2o-danube2-1.8b']),
    );
  });

  test('KV shapes of the baselines (layers, KV heads, head dim)', () => {
    const shape = (n: string) => {
      const t = getPreset(n);
      return t.kind === 'transformer' ? [t.layers, t.kvHeads, t.headDim] : null;
    };
    expect(shape('llama-3.2-3b')).toEqual([28, 8, 128]);
    expect(shape('llama-3.2-1b')).toEqual([16, 8, 64]);
    expect(shape('smollm2-1.7b')).toEqual([24, 32, 64]);
    expect(shape('qwen2.5-1.5b')).toEqual([28, 2, 128]);
    expect(shape('phi-1.5')).toEqual([24, 32, 64]);
    expect(shape('h2o-danube2-1.8b')).toEqual([24, 8, 80]);
  });
});

describe('hymba-1.5b', () => {
  test.skipIf(!existsSync(path.join(sharedDir, 'hymba-1.5b', 'config.json')))('equals the published config.json key for key', () => {
    const published = JSON.parse(readFileSync(path.join(sharedDir, 'hymba-1.5b', 'config.json'), 'utf8'));
    const preset = getPreset('hymba-1.5b');
    expect(preset.kind === 'hymba' && preset.config).toEqual(published);
  });

  test('parameter count 1,522,797,824 (spec §3.1)', () => {
    expect(parameterCount(hymba)).toBe(1_522_797_824);
  });

  test('611 tensors with the names and shapes of spec §3.2, lm_head absent', () => {
    const t = expectedTensors(hymba);
    expect(t.size).toBe(611);
    expect(t.get('model.embed_tokens.weight')).toEqual([32001, 1600]);
    expect(t.get('model.memory_tokens')).toEqual([128, 1600]);
    expect(t.get('model.final_layernorm.weight')).toEqual([1600]);
    expect(t.has('lm_head.weight')).toBe(false);
    const kvOwners = new Set([0, 1, 3, 5, 7, 9, 11, 13, 15, 16, 19, 21, 23, 25, 27, 29, 31]);
    for (let i = 0; i < 32; i++) {
      const p = `model.layers.${i}.`;
      expect(t.get(p + 'mamba.in_proj.weight'), `layer ${i}`).toEqual([kvOwners.has(i) ? 8960 : 8000, 1600]);
      expect([...t.keys()].filter((k) => k.startsWith(p))).toHaveLength(19);
    }
    const layer7: Array<[string, number[]]> = [
      ['input_layernorm.weight', [1600]],
      ['mamba.conv1d.weight', [3200, 1, 4]],
      ['mamba.conv1d.bias', [3200]],
      ['mamba.x_proj.0.weight', [132, 3200]],
      ['mamba.dt_proj.0.weight', [3200, 100]],
      ['mamba.dt_proj.0.bias', [3200]],
      ['mamba.A_log.0', [3200, 16]],
      ['mamba.D.0', [3200]],
      ['mamba.dt_layernorm.weight', [100]],
      ['mamba.B_layernorm.weight', [16]],
      ['mamba.C_layernorm.weight', [16]],
      ['mamba.pre_avg_layernorm1.weight', [3200]],
      ['mamba.pre_avg_layernorm2.weight', [3200]],
      ['mamba.out_proj.weight', [1600, 3200]],
      ['pre_moe_layernorm.weight', [1600]],
      ['moe.experts.0.gate_proj.weight', [5504, 1600]],
      ['moe.experts.0.up_proj.weight', [5504, 1600]],
      ['moe.experts.0.down_proj.weight', [1600, 5504]],
    ];
    for (const [name, shape] of layer7) expect(t.get('model.layers.7.' + name), name).toEqual(shape);
  });
});

describe('transformerFromHfConfig', () => {
  // The public meta-llama/Llama-3.2-3B config.json (the keys that matter, in HF's spelling).
  const llama3b = {
    architectures: ['LlamaForCausalLM'],
    head_dim: 128,
    hidden_size: 3072,
    intermediate_size: 8192,
    model_type: 'llama',
    num_attention_heads: 24,
    num_hidden_layers: 28,
    num_key_value_heads: 8,
    tie_word_embeddings: true,
    vocab_size: 128256,
  };

  test('a Llama config becomes the same shape as the preset', () => {
    const t = transformerFromHfConfig(llama3b, 'llama-3.2-3b');
    const { params: _p, paperCacheMB: _c, ...preset } = getPreset('llama-3.2-3b') as ReturnType<typeof transformerFromHfConfig>;
    expect(t).toEqual(preset);
  });

  test('head dim falls back to hidden / heads, KV heads to the query heads, tying to false', () => {
    const { head_dim: _h, num_key_value_heads: _k, tie_word_embeddings: _t, ...bare } = llama3b;
    const t = transformerFromHfConfig(bare);
    expect([t.headDim, t.kvHeads, t.tiedEmbeddings]).toEqual([128, 24, false]);
  });

  test('bad keys are ConfigErrors naming the key', () => {
    const { num_hidden_layers: _n, ...noLayers } = llama3b;
    expect(() => transformerFromHfConfig(noLayers)).toThrow(ConfigError);
    expect(() => transformerFromHfConfig(noLayers)).toThrow('"num_hidden_layers"');
    expect(() => transformerFromHfConfig({ ...llama3b, num_key_value_heads: 7 })).toThrow('"num_key_value_heads"');
    expect(() =>
      transformerFromHfConfig({ ...llama3b, head_dim: undefined, hidden_size: 3000, num_attention_heads: 7, num_key_value_heads: 7 }),
    ).toThrow('"hidden_size"');
    expect(() => transformerFromHfConfig({ ...llama3b, vocab_size: '32k' })).toThrow('"vocab_size"');
  });
});

describe('resolveConfig', () => {
  test('an unknown preset name is a PresetError listing the presets', () => {
    expect(() => resolveConfig('llama-9b')).toThrow(PresetError);
    expect(() => resolveConfig('llama-9b')).toThrow(/unknown preset "llama-9b".*hymba-1\.5b.*llama-3\.2-3b/);
  });

  test('config text and objects: Hymba by model_type, everything else Llama-style', () => {
    const preset = getPreset('hymba-1.5b');
    if (preset.kind !== 'hymba') throw new Error('hymba-1.5b is not a Hymba preset');
    const fromText = resolveConfig(JSON.stringify(preset.config));
    expect(isTransformer(fromText)).toBe(false);
    expect((fromText as HymbaConfig).numMetaTokens).toBe(128);
    const qwen = resolveConfig({
      model_type: 'qwen2',
      hidden_size: 1536,
      num_attention_heads: 12,
      num_key_value_heads: 2,
      num_hidden_layers: 28,
      vocab_size: 151936,
      intermediate_size: 8960,
      _name_or_path: 'Qwen/Qwen2.5-1.5B',
    });
    expect(qwen).toMatchObject({ kind: 'transformer', name: 'Qwen/Qwen2.5-1.5B', headDim: 128, kvHeads: 2 });
    expect(resolveConfig(getPreset('phi-1.5') as never)).toBe(getPreset('phi-1.5'));
  });

  test.skipIf(!existsSync(goldenDir('pub_b_m0_d32')))('a golden Hymba config resolves to the parsed config', () => {
    const text = readFileSync(path.join(goldenDir('pub_b_m0_d32'), 'config.json'), 'utf8');
    expect(resolveConfig(text)).toEqual(parseConfig(text));
  });

  test('broken input is refused with a typed error', () => {
    expect(() => resolveConfig('{ not json')).toThrow(ConfigError);
    expect(() => resolveConfig({ model_type: 'hymba', hidden_size: 64 })).toThrow(ConfigError);
    expect(() =>
      resolveConfig({
        kind: 'transformer',
        name: 'x',
        layers: 0,
        kvHeads: 1,
        headDim: 8,
        hidden: 8,
        heads: 1,
        vocab: 10,
        intermediate: 16,
      } as never),
    ).toThrow(PresetError);
  });
});
