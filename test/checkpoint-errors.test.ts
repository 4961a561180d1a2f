// Every way a model folder can be wrong gives a typed error whose message names the file, the tensor or key, and
// what was expected. Inputs are built from the tiny fixture model (and one golden model) at test time.
import { describe, expect, it } from 'vitest';
import { CheckpointError, ConfigError, loadCheckpoint, memoryFiles } from '../engine/checkpoint/load.ts';
import { headerLength } from '../engine/checkpoint/safetensors.ts';
import { encode, randomTensors, rawSafetensors, readGolden, shardedFolder, splitSafetensors, tinyConfig } from './fixtures/checkpoints.ts';

const config = tinyConfig();
const configText = JSON.stringify(config);
const tensors = randomTensors(config);
const model = encode(tensors);

/** Load a folder named "m" holding these files (config.json defaults to the tiny config). */
function load(files: Record<string, Uint8Array | string>) {
  return loadCheckpoint(memoryFiles('m', { 'config.json': configText, ...files }));
}

/** The loader's rejection: of class `cls`, with a message matching every pattern. */
async function rejects<E extends Error>(
  promise: Promise<unknown>,
  cls: new (...args: never[]) => E,
  ...patterns: Array<string | RegExp>
): Promise<E> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(cls);
  for (const p of patterns) expect((error as Error).message).toMatch(p);
  return error as E;
}

/** The model file with its header entries changed by `edit` (the data section kept). */
function withHeader(edit: (header: Record<string, Record<string, unknown>>) => void, data?: Uint8Array): Uint8Array {
  const parts = splitSafetensors(model);
  edit(parts.header as Record<string, Record<string, unknown>>);
  return rawSafetensors(parts.header, data ?? parts.data);
}

const EMBED = 'model.embed_tokens.weight';
const IN_PROJ_1 = 'model.layers.1.mamba.in_proj.weight';

describe('the fixture itself', () => {
  it('loads (so every rejection below is caused by its one defect)', async () => {
    const ckpt = await load({ 'model.safetensors': model });
    expect(ckpt.weights.size).toBe(tensors.length);
  });
});

describe('truncated files', () => {
  it('cut inside the data: names the tensor that runs past the end', async () => {
    const cut = model.subarray(0, model.length - 10);
    const e = await rejects(
      load({ 'model.safetensors': cut }),
      CheckpointError,
      'm/model.safetensors',
      /outside the \d+-byte data section \(file truncated\?\)/,
    );
    expect(e.tensor).toBe(tensors.at(-1)!.name);
    expect(e.file).toBe('m/model.safetensors');
  });

  it('cut inside the header', async () => {
    await rejects(
      load({ 'model.safetensors': model.subarray(0, 100) }),
      CheckpointError,
      /^m\/model\.safetensors: truncated: header of \d+ bytes does not fit in a 100-byte file$/,
    );
  });

  it('shorter than the 8-byte length', async () => {
    await rejects(
      load({ 'model.safetensors': model.subarray(0, 5) }),
      CheckpointError,
      'm/model.safetensors: truncated: 5 bytes is shorter than the 8-byte header length',
    );
    await rejects(load({ 'model.safetensors': new Uint8Array(0) }), CheckpointError, 'truncated: 0 bytes');
  });
});

describe('corrupted headers', () => {
  it('not JSON', async () => {
    await rejects(
      load({ 'model.safetensors': rawSafetensors('{"a": [1, 2') }),
      CheckpointError,
      'm/model.safetensors',
      /bad header: not valid UTF-8 JSON/,
    );
  });

  it('not UTF-8', async () => {
    const header = new TextEncoder().encode('{"__metadata__": {"x": "??"}}');
    header.set([0xff, 0xfe], header.indexOf(0x3f));
    await rejects(load({ 'model.safetensors': rawSafetensors(header) }), CheckpointError, 'm/model.safetensors', /not valid UTF-8 JSON/);
  });

  it('not an object, or an entry that is not one', async () => {
    await rejects(load({ 'model.safetensors': rawSafetensors('[1, 2]') }), CheckpointError, /bad header: expected a JSON object/);
    const file = withHeader((h) => ((h as Record<string, unknown>)[EMBED] = [1, 2]));
    await rejects(
      load({ 'model.safetensors': file }),
      CheckpointError,
      `(tensor "${EMBED}")`,
      /entry is \[1,2\], expected \{dtype, shape, data_offsets\}/,
    );
  });

  it('an absurd declared header length (2^60) is refused before anything is allocated', async () => {
    const file = rawSafetensors({}, new Uint8Array(100), 2n ** 60n);
    await rejects(
      load({ 'model.safetensors': file }),
      CheckpointError,
      'm/model.safetensors',
      /declared header length 1152921504606846976 exceeds the 100000000-byte limit/,
    );
    // The length is checked against the limit and the file size without reading past the first 8 bytes.
    expect(() => headerLength('f', file.subarray(0, 8), file.length)).toThrow(CheckpointError);
    const fits = rawSafetensors({}, new Uint8Array(0), 1000n);
    expect(() => headerLength('f', fits.subarray(0, 8), fits.length)).toThrow(/header of 1000 bytes does not fit in a 10-byte file/);
  });

  it('offsets outside the file', async () => {
    const file = withHeader((h) => (h[EMBED].data_offsets = [0, 10 ** 9]));
    await rejects(
      load({ 'model.safetensors': file }),
      CheckpointError,
      `(tensor "${EMBED}")`,
      /data_offsets \[0, 1000000000\] lie outside the \d+-byte data section/,
    );
  });

  it('offsets backwards', async () => {
    const file = withHeader((h) => (h[EMBED].data_offsets = [256, 0]));
    await rejects(load({ 'model.safetensors': file }), CheckpointError, `(tensor "${EMBED}")`, 'data_offsets [256, 0] run backwards');
  });

  it('offsets that are not two non-negative integers', async () => {
    for (const offsets of [[0], [-4, 0], [0, 1.5], '0-256', null]) {
      const file = withHeader((h) => (h[EMBED].data_offsets = offsets));
      await rejects(
        load({ 'model.safetensors': file }),
        CheckpointError,
        `(tensor "${EMBED}")`,
        /bad data_offsets .*, expected \[begin, end\] byte offsets/,
      );
    }
  });

  it('a shape that does not match the size of its offsets', async () => {
    const file = withHeader((h) => (h[EMBED].shape = [8, 9]));
    await rejects(
      load({ 'model.safetensors': file }),
      CheckpointError,
      `(tensor "${EMBED}")`,
      'shape [8,9] of F32 needs 288 bytes but data_offsets span 256',
    );
  });

  it('a shape that is not a list of non-negative integers, even one too deep to print', async () => {
    for (const shape of [[8, -8], [8, '8'], 64, [[8], [8]]]) {
      const file = withHeader((h) => (h[EMBED].shape = shape));
      await rejects(
        load({ 'model.safetensors': file }),
        CheckpointError,
        `(tensor "${EMBED}")`,
        /bad shape .*, expected a list of non-negative integers/,
      );
    }
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    const header = JSON.stringify(splitSafetensors(model).header).replace(/"shape":\[8,8\]/, `"shape":${deep}`);
    const e = await rejects(
      load({ 'model.safetensors': rawSafetensors(header, splitSafetensors(model).data) }),
      CheckpointError,
      /bad shape \[…\]/,
    );
    expect(e.message.length).toBeLessThan(300);
  });

  it('an unknown dtype, including names of Object.prototype members', async () => {
    for (const dtype of ['F64', 'Q4_K', 'toString', 'constructor', 7]) {
      const file = withHeader((h) => (h[EMBED].dtype = dtype));
      await rejects(
        load({ 'model.safetensors': file }),
        CheckpointError,
        `(tensor "${EMBED}")`,
        `unsupported dtype ${JSON.stringify(dtype)} (supported: F32, F16, BF16, I32, I64)`,
      );
    }
  });

  it('an integer dtype where a weight belongs', async () => {
    const data = splitSafetensors(model).data;
    const file = withHeader((h) => (h[EMBED].dtype = 'I32'), data);
    await rejects(load({ 'model.safetensors': file }), CheckpointError, `(tensor "${EMBED}")`, 'dtype I32 is not a float type');
  });

  it('tensors that overlap, leave a gap, or leave trailing bytes', async () => {
    const [first, second] = tensors;
    const overlap = withHeader((h) => (h[second.name].data_offsets = [0, 4 * second.data.length]));
    await rejects(load({ 'model.safetensors': overlap }), CheckpointError, /overlap tensor|leave a gap/);
    const parts = splitSafetensors(model);
    const trailing = rawSafetensors(parts.header, Uint8Array.from([...parts.data, 1, 2, 3, 4]));
    await rejects(
      load({ 'model.safetensors': trailing }),
      CheckpointError,
      'm/model.safetensors',
      /tensors cover \d+ bytes but the data section holds \d+ \(trailing bytes\)/,
    );
    const gap = withHeader((h) => delete h[first.name]);
    await rejects(
      load({ 'model.safetensors': gap }),
      CheckpointError,
      `(tensor "${second.name}")`,
      /leave a gap: expected it to begin at 0/,
    );
  });

  it('__metadata__ that is not an object of strings', async () => {
    const file = withHeader((h) => ((h as Record<string, unknown>).__metadata__ = { format: 1 }));
    await rejects(
      load({ 'model.safetensors': file }),
      CheckpointError,
      'bad header: __metadata__ is {"format":1}, expected an object of strings',
    );
  });
});

describe('tensors that do not fit the config', () => {
  it('a tensor of the wrong shape (consistent file, wrong for this config)', async () => {
    const wrong = tensors.map((t) => (t.name === IN_PROJ_1 ? { ...t, shape: [t.shape[0] / 2, t.shape[1] * 2] } : t));
    await rejects(
      load({ 'model.safetensors': encode(wrong) }),
      CheckpointError,
      `m/model.safetensors (tensor "${IN_PROJ_1}")`,
      /wrong shape \[26,16\], expected \[52,8\] for this config/,
    );
  });

  it('a missing tensor', async () => {
    const fewer = tensors.filter((t) => t.name !== IN_PROJ_1);
    await rejects(
      load({ 'model.safetensors': encode(fewer) }),
      CheckpointError,
      `m (tensor "${IN_PROJ_1}")`,
      'missing tensor (expected shape [52,8])',
    );
  });

  it('an unexpected extra tensor', async () => {
    const extra = [...tensors, { name: 'model.layers.0.self_attn.q_proj.weight', shape: [2], data: new Float32Array(2) }];
    await rejects(
      load({ 'model.safetensors': encode(extra) }),
      CheckpointError,
      '(tensor "model.layers.0.self_attn.q_proj.weight")',
      'unexpected tensor for this config',
    );
  });

  it('a tied lm_head is ignored when it has the embedding shape, refused otherwise', async () => {
    const embedding = tensors[0];
    expect(embedding.name).toBe(EMBED);
    const ok = await load({ 'model.safetensors': encode([...tensors, { ...embedding, name: 'lm_head.weight' }]) });
    expect(ok.weights.has('lm_head.weight')).toBe(false);
    const bad = [...tensors, { name: 'lm_head.weight', shape: [4, 8], data: new Float32Array(32) }];
    await rejects(
      load({ 'model.safetensors': encode(bad) }),
      CheckpointError,
      '(tensor "lm_head.weight")',
      'wrong shape [4,8] for the tied head, expected [8,8]',
    );
  });

  it('an untied config needs lm_head', async () => {
    const untied = JSON.stringify({ ...config, tie_word_embeddings: false });
    await rejects(
      load({ 'config.json': untied, 'model.safetensors': model }),
      CheckpointError,
      '(tensor "lm_head.weight")',
      'missing tensor (expected shape [8,8])',
    );
  });

  it('a golden model with the config of another golden model', async () => {
    const a = readGolden('pub_a_m8_d64');
    const b = readGolden('pub_b_m0_d32');
    await rejects(
      load({ 'config.json': b.configText, 'model.safetensors': a.modelBytes }),
      CheckpointError,
      /\(tensor "model\.[^"]+"\): (wrong shape|missing tensor|unexpected tensor)/,
    );
  });
});

describe('config.json problems', () => {
  it('missing config.json', async () => {
    await rejects(
      loadCheckpoint(memoryFiles('m', { 'model.safetensors': model })),
      CheckpointError,
      'm/config.json: missing: a model folder needs config.json',
    );
  });

  it('config.json that is not JSON names the file', async () => {
    const e = await rejects(
      load({ 'config.json': '{"hidden_size": 8', 'model.safetensors': model }),
      ConfigError,
      /not valid JSON/,
      '(in m/config.json)',
    );
    expect(e.key).toBe('(file)');
  });

  it.each([
    ['hidden_size', { hidden_size: '8' }, /expected a number, got "8"/],
    ['num_experts', { num_experts: 2 }, /2 is not supported \(supported: 1\)/],
    ['rope_type', { rope_type: 'yarn' }, /"yarn" is not supported/],
    ['global_attn_idx', { global_attn_idx: [0, 9] }, /layer 9 is outside 0\.\.2/],
    ['kv_reuse_group', { kv_reuse_group: [[2, 1]] }, /consumer 1 must come after its producer 2/],
    ['kv_reuse_group', { kv_reuse_group: [[0, 1]] }, /layers 0 and 1 share K\/V but only one is global/],
    ['lab_mixers', { lab_mixers: ['ssm'] }, /expected 3 entries/],
    [
      'lab_attention_heads',
      { num_key_value_heads: 2, lab_attention_heads: [2, 3, 2] },
      /3 query heads is not a positive multiple of num_key_value_heads 2/,
    ],
  ])('bad value of %s names the key and the file', async (key, patch, pattern) => {
    const text = JSON.stringify({ ...config, ...patch });
    const e = await rejects(
      load({ 'config.json': text, 'model.safetensors': model }),
      ConfigError,
      `config.json: "${key}": `,
      pattern,
      '(in m/config.json)',
    );
    expect(e.key).toBe(key);
  });
});

describe('sharded checkpoints', () => {
  const shards = shardedFolder(tensors, 3);
  const shardNames = Object.keys(shards).filter((n) => n.endsWith('.safetensors'));
  const index = JSON.parse(shards['model.safetensors.index.json'] as string) as { weight_map: Record<string, string> };
  const withIndex = (weightMap: Record<string, unknown>) => ({
    ...shards,
    'model.safetensors.index.json': JSON.stringify({ weight_map: weightMap }),
  });

  it('loads (the baseline)', async () => {
    expect((await load(shards)).weights.size).toBe(tensors.length);
  });

  it('an index pointing at a missing shard', async () => {
    const files: Record<string, Uint8Array | string> = { ...shards };
    delete files[shardNames[1]];
    await rejects(load(files), CheckpointError, `m/${shardNames[1]}: missing: the checkpoint file is not in the model folder`);
  });

  it('a tensor in two shards names both', async () => {
    const dup = tensors.find((t) => index.weight_map[t.name] === shardNames[0])!;
    const second = [...tensors.filter((t) => index.weight_map[t.name] === shardNames[1]), dup];
    const files = { ...shards, [shardNames[1]]: encode(second) };
    await rejects(
      load(files),
      CheckpointError,
      `m/${shardNames[1]} (tensor "${dup.name}")`,
      `appears in two shards (also in m/${shardNames[0]})`,
    );
  });

  it('a tensor the index places in another shard', async () => {
    const moved = { ...index.weight_map, [EMBED]: shardNames[2] };
    await rejects(
      load(withIndex(moved)),
      CheckpointError,
      `(tensor "${EMBED}")`,
      `is in this shard but the index places it in ${shardNames[2]}`,
    );
  });

  it('a tensor the index lists but its shard lacks', async () => {
    await rejects(
      load(withIndex({ ...index.weight_map, 'model.extra': shardNames[0] })),
      CheckpointError,
      `m/${shardNames[0]} (tensor "model.extra")`,
      'missing: the index places it in this shard',
    );
  });

  it.each([
    '../model.safetensors',
    '..',
    'sub/model.safetensors',
    'C:\\model.safetensors',
    'https:evil.example/x',
    '%2e%2e',
    '.hidden',
    '',
  ])('refuses the shard name %j (no path traversal)', async (shard) => {
    await rejects(
      load(withIndex({ ...index.weight_map, [EMBED]: shard })),
      CheckpointError,
      'm/model.safetensors.index.json',
      `(tensor "${EMBED}")`,
      `refused shard file name ${JSON.stringify(shard)}`,
    );
  });

  it('a shard named after an Object.prototype member is just missing', async () => {
    await rejects(load(withIndex({ ...index.weight_map, [EMBED]: '__proto__' })), CheckpointError, 'm/__proto__: missing');
  });

  it('an index that is not JSON, or has no weight_map object', async () => {
    await rejects(
      load({ ...shards, 'model.safetensors.index.json': '{"weight_map": ' }),
      CheckpointError,
      'm/model.safetensors.index.json: not valid JSON',
    );
    for (const bad of ['{}', '{"weight_map": []}', '{"weight_map": "x"}', 'null']) {
      await rejects(
        load({ ...shards, 'model.safetensors.index.json': bad }),
        CheckpointError,
        'm/model.safetensors.index.json: expected an object with a "weight_map" object',
      );
    }
  });
});
