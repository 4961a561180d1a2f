// `npm run hymba -- info` and `cache`, end to end: the real CLI entry point in a child process.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { goldenDir, repoRoot } from './paths.ts';

function hymba(...args: string[]) {
  const r = spawnSync(process.execPath, ['--no-warnings', 'engine/cli/main.ts', ...args], { cwd: repoRoot, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function json(...args: string[]) {
  const r = hymba(...args);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

describe('info', () => {
  test('--preset hymba-1.5b --json: parameters, layer map, 611 tensors', () => {
    const info = json('info', '--preset', 'hymba-1.5b', '--json');
    expect(info.parameters).toBe(1_522_797_824);
    expect(info.tensor_count).toBe(611);
    expect(info.tensors).toHaveLength(611);
    const shape = (name: string) => info.tensors.find((t: { name: string }) => t.name === name)?.shape;
    expect(shape('model.layers.16.mamba.in_proj.weight')).toEqual([8960, 1600]);
    expect(shape('model.layers.17.mamba.in_proj.weight')).toEqual([8000, 1600]);
    expect(info.layers[0]).toMatchObject({ layer: 0, attention: 'global', kv: 'owner', kv_from: 0, mixer: 'hybrid', in_proj_rows: 8960 });
    expect(info.layers[18]).toMatchObject({ attention: 'swa', kv: 'consumer', kv_from: 16, in_proj_rows: 8000 });
    expect(info.config).toMatchObject({ hidden_size: 1600, num_meta_tokens: 128, sliding_window: 1024, global_layers: [0, 15, 31] });
  });

  test('text mode prints the summary and one row per layer', () => {
    const r = hymba('info', '--preset', 'hymba-1.5b');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('1,522,797,824');
    expect(r.stdout).toMatch(/^\s+18\s+swa\s+uses layer 16\s+hybrid/m);
    expect(r.stdout).toContain('17 layers own a KV cache, 15 reuse one.');
  });

  test.skipIf(!existsSync(goldenDir('pub_a_m8_d64')))('--model DIR reads only config.json; the layer map equals the golden README', () => {
    const dir = goldenDir('pub_a_m8_d64');
    const readme = JSON.parse(readFileSync(path.join(dir, 'README.json'), 'utf8'));
    const info = json('info', '--model', dir, '--json');
    expect(info.parameters).toBe(readme.dims.n_params);
    expect(
      info.layers.map((l: Record<string, unknown>) => ({ layer: l.layer, attention: l.attention, kv: l.kv, kv_from: l.kv_from })),
    ).toEqual(readme.layer_map);
    // A folder with only config.json is enough.
    const bare = mkdtempSync(path.join(tmpdir(), 'hymba-info-'));
    writeFileSync(path.join(bare, 'config.json'), readFileSync(path.join(dir, 'config.json')));
    expect(json('info', '--model', bare, '--json').parameters).toBe(readme.dims.n_params);
  });

  test('a Transformer preset gets its own summary', () => {
    const info = json('info', '--preset', 'qwen2.5-1.5b', '--json');
    expect(info).toMatchObject({ kind: 'transformer', layers: 28, kvHeads: 2, headDim: 128, kv_bytes_per_token_f16: 28672 });
  });
});

describe('cache', () => {
  test('--preset llama-3.2-3b --seq 8000 --json: 917,504,000 B of KV over 28 layers', () => {
    const b = json('cache', '--preset', 'llama-3.2-3b', '--seq', '8000', '--json');
    expect(b).toMatchObject({
      kind: 'transformer',
      seq_len: 8000,
      dtype: 'f16',
      kv_bytes: 917_504_000,
      ssm_state_bytes: 0,
      conv_state_bytes: 0,
      total_bytes: 917_504_000,
    });
    expect(b.layers).toHaveLength(28);
  });

  test('--preset hymba-1.5b --seq 8000: KV 77.78 MB, f32 state by default, options change it', () => {
    const b = json('cache', '--preset', 'hymba-1.5b', '--seq', '8000', '--json');
    expect(b).toMatchObject({
      kv_bytes: 77_783_040,
      ssm_state_bytes: 6_553_600,
      conv_state_bytes: 1_228_800,
      total_bytes: 77_783_040 + 6_553_600 + 1_228_800,
    });
    expect(b.layers).toHaveLength(32);
    const paper = json(
      'cache',
      '--preset',
      'hymba-1.5b',
      '--seq',
      '8000',
      '--state-dtype',
      'f16',
      '--conv-taps',
      '4',
      '--window-rule',
      'prefill',
      '--json',
    );
    expect(paper).toMatchObject({
      window_rule: 'prefill',
      kv_bytes: 77_783_040 + 14 * 1920,
      ssm_state_bytes: 3_276_800,
      conv_state_bytes: 819_200,
    });
  });

  test('text mode: MB table, totals and the comparison with the paper pair', () => {
    const r = hymba('cache', '--preset', 'llama-3.2-3b', '--seq', '8000');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/KV cache\s+917\.50 MB/);
    expect(r.stdout).toMatch(/hymba-1\.5b at the same length: 85\.57 MB.*KV alone: 11\.80×/);
    expect(r.stdout).toContain('paper (Table 2; 8k tokens, FP16): 918 MB');
    const h = hymba('cache', '--preset', 'hymba-1.5b', '--seq', '8000', '--dtype', 'f16');
    expect(h.stdout).toMatch(/KV cache\s+77\.78 MB/);
    expect(h.stdout).toContain('no SSM state): 78.60 MB');
  });

  test('--config FILE takes a Llama-style HF config.json', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hymba-cache-'));
    const file = path.join(dir, 'danube.json');
    writeFileSync(
      file,
      JSON.stringify({
        model_type: 'mistral',
        hidden_size: 2560,
        num_attention_heads: 32,
        num_key_value_heads: 8,
        num_hidden_layers: 24,
        vocab_size: 32000,
        intermediate_size: 6912,
      }),
    );
    const b = json('cache', '--config', file, '--seq', '8000', '--json');
    expect(b.kv_bytes).toBe(2 * 24 * 8 * 80 * 8000 * 2);
  });

  test('bad input: clear errors and non-zero exit codes', () => {
    const unknown = hymba('cache', '--preset', 'gpt-5', '--seq', '10');
    expect(unknown.code).toBe(2); // bad usage (exit 1 is for runs that fail)
    expect(unknown.stderr).toMatch(/unknown preset "gpt-5" \(presets: hymba-1\.5b, llama-3\.2-3b/);
    const zero = hymba('cache', '--preset', 'hymba-1.5b', '--seq', '0');
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('--seq must be ≥ 1, got 0');
    expect(hymba('cache', '--preset', 'hymba-1.5b', '--seq', '-5').stderr).toContain('--seq must be ≥ 1');
    expect(hymba('cache', '--preset', 'hymba-1.5b').stderr).toContain('--seq is required');
    expect(hymba('cache', '--preset', 'hymba-1.5b', '--seq', '8', '--dtype', 'f8').stderr).toContain(
      '--dtype must be one of f16, bf16, f32',
    );
    const both = hymba('info', '--preset', 'hymba-1.5b', '--model', '/tmp');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give exactly one of --model DIR or --preset NAME');
    const missing = hymba('info', '--model', '/nonexistent-hymba-dir');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('/nonexistent-hymba-dir/config.json: no such file');
  });

  test('a broken config.json names the file and the key', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hymba-bad-'));
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'hymba', hidden_size: 64, num_hidden_layers: 2 }));
    const r = hymba('info', '--model', dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ConfigError: config\.json: "num_attention_heads": is missing .*\(in .*config\.json\)/);
  });
});
