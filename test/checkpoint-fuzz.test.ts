// Property-based fuzzing of loadCheckpoint. Starting from a tiny valid model folder, fast-check applies random
// mutations (raw bytes, the length prefix, the JSON header's entries, config.json keys, the shard index) and every
// outcome must be one of two things:
//   - a load whose weights are exactly the tensors the (possibly mutated) config expects, each with its shape and
//     the right number of values (finite or not: flipped data bytes may make NaN);
//   - a CheckpointError or ConfigError naming the folder's file.
// Never another exception, never a slow case, never a read outside a file or of more bytes than the file holds
// (the loader allocates what it reads, so this bounds its memory by the file size: a declared 2^60-byte header
// must be refused, not allocated). HYMBA_FUZZ_RUNS=100000 runs longer locally.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CheckpointError,
  ConfigError,
  loadCheckpoint,
  memorySource,
  weightF32,
  type ByteSource,
  type ModelFiles,
} from '../engine/checkpoint/load.ts';
import { expectedTensors } from '../engine/config.ts';
import { encode, randomTensors, rawSafetensors, shardedFolder, splitSafetensors, tinyConfig } from './fixtures/checkpoints.ts';

type Folder = Record<string, Uint8Array | string>;

const NUM_RUNS = Number(process.env.HYMBA_FUZZ_RUNS ?? 3000);
/** Far above a normal case (well under 1 ms, with room for GC pauses on a busy machine): unbounded work shows. */
const CASE_LIMIT_MS = 1000;

const config = tinyConfig();
const configText = JSON.stringify(config, null, 2);
const tensors = randomTensors(config);
const models = { F32: encode(tensors), BF16: encode(tensors, 'BF16') };
const sharded = shardedFolder(tensors, 2);
const shardNames = Object.keys(sharded).filter((n) => n.endsWith('.safetensors'));
const tensorNames = tensors.map((t) => t.name);
const headerEnd = 8 + Number(new DataView(models.F32.buffer).getBigUint64(0, true));

// ---- mutations: plain data (so fast-check can print and shrink a failing case), applied by the functions below.

/**
 * Stands for an array nested 5000 deep: expanded only in the JSON text (see toJson), because fast-check could not
 * print such a value when it reports a case.
 */
const DEEP = '@@deeply nested@@';
const DEEP_TEXT = '['.repeat(5000) + ']'.repeat(5000);

/** JSON text of a value, with DEEP expanded. */
function toJson(value: unknown): string {
  return (JSON.stringify(value) ?? 'null').replaceAll(`"${DEEP}"`, DEEP_TEXT);
}

/** JSON text of an object given as [key, value] pairs, so "__proto__" and duplicate keys appear as written. */
function objectJson(entries: Array<[string, unknown]>): string {
  return '{' + entries.map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`).join(',') + '}';
}

/** Odd values for any JSON slot: wrong types, extremes, things that look like numbers, and deep nesting. */
const oddValue = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(0, -1, 1, 2, 1.5, -0, 1024, 1025, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 1e15, 1e300, -1e300),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      null,
      true,
      false,
      '',
      '8',
      'NaN',
      'Infinity',
      '-1',
      'auto',
      'F32',
      '__proto__',
      'toString',
      [],
      {},
      [[]],
      [1, 2, 3],
    ),
  },
  { weight: 1, arbitrary: fc.constant(DEEP) },
  { weight: 2, arbitrary: fc.integer({ min: -3, max: 70 }) },
  { weight: 1, arbitrary: fc.double() }, // NaN and ±Infinity serialise as null
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/** Byte positions, biased toward the 8-byte length and the JSON header where most of the parsing is. */
const position = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 7 }) },
  { weight: 6, arbitrary: fc.integer({ min: 8, max: headerEnd - 1 }) },
  { weight: 1, arbitrary: fc.nat({ max: models.F32.length - 1 }) },
);

/** Bytes to insert: random, or JSON punctuation and invalid UTF-8 that the header parser must survive. */
const insertion = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 8 }),
  fc
    .constantFrom('"', '{', '}', '[', ']', ',', ':', '-', '9', '1e999', '\\', '\\u0000', '\xff', '\xc3')
    .map((s) => (s.length === 1 && s.charCodeAt(0) > 0x7f ? Uint8Array.of(s.charCodeAt(0)) : new TextEncoder().encode(s))),
);

const byteOp = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: position, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: position, value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('insert' as const), at: position, bytes: insertion }),
  fc.record({ op: fc.constant('delete' as const), at: position, count: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: position }),
  fc.record({
    op: fc.constant('length' as const),
    value: fc.oneof(
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      fc.constantFrom(0n, 1n, 2n ** 53n + 1n, 2n ** 60n, 2n ** 63n, 2n ** 64n - 1n, BigInt(models.F32.length)),
      fc.integer({ min: -16, max: 16 }).map((d) => BigInt(headerEnd - 8 + d)),
    ),
  }),
);
type ByteOp = typeof byteOp extends fc.Arbitrary<infer T> ? T : never;

const tensorIndex = fc.nat({ max: tensorNames.length - 1 });
const dim = fc.oneof(fc.integer({ min: 0, max: 70 }), oddValue);
const headerOp = fc.oneof(
  fc.record({
    op: fc.constant('dtype' as const),
    tensor: tensorIndex,
    value: fc.oneof(fc.constantFrom('F32', 'F16', 'BF16', 'I32', 'I64', 'F64', 'U8', 'BOOL', 'f32', 'constructor'), oddValue),
  }),
  fc.record({ op: fc.constant('shape' as const), tensor: tensorIndex, value: fc.oneof(fc.array(dim, { maxLength: 4 }), oddValue) }),
  fc.record({ op: fc.constant('reshape' as const), tensor: tensorIndex }), // same numel, other dims: a self-consistent file
  fc.record({
    op: fc.constant('offsets' as const),
    tensor: tensorIndex,
    value: fc.oneof(fc.tuple(fc.integer({ min: -8, max: 40_000 }), fc.integer({ min: -8, max: 40_000 })), oddValue),
  }),
  fc.record({
    op: fc.constant('shift' as const),
    tensor: tensorIndex,
    begin: fc.integer({ min: -8, max: 8 }),
    end: fc.integer({ min: -8, max: 8 }),
  }),
  fc.record({
    op: fc.constant('rename' as const),
    tensor: tensorIndex,
    to: fc.oneof(fc.constantFrom(...tensorNames, '__metadata__', '__proto__', 'lm_head.weight', ''), fc.string()),
  }),
  fc.record({ op: fc.constant('delete' as const), tensor: tensorIndex }),
  fc.record({ op: fc.constant('entry' as const), tensor: tensorIndex, value: oddValue }),
  fc.record({ op: fc.constant('field' as const), tensor: tensorIndex, key: fc.string({ maxLength: 6 }), value: oddValue }),
  fc.record({ op: fc.constant('metadata' as const), value: oddValue }),
);
type HeaderOp = typeof headerOp extends fc.Arbitrary<infer T> ? T : never;

const configKey = fc.constantFrom(
  ...Object.keys(config),
  'num_experts',
  'kq_norm',
  'mamba_proj_bias',
  'hidden_act',
  'lab_mixers',
  'lab_attention_heads',
  'model_type',
  '__proto__',
);
const configOp = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), key: configKey }),
  fc.record({ op: fc.constant('set' as const), key: configKey, value: oddValue }),
  // A new layer count without the layer_type list that would otherwise refuse it at once.
  fc.record({ op: fc.constant('layers' as const), value: oddValue }),
  fc.record({ op: fc.constant('cut' as const), at: fc.nat({ max: configText.length }) }),
);
type ConfigOp = typeof configOp extends fc.Arbitrary<infer T> ? T : never;

const indexOp = fc.oneof(
  fc.record({
    op: fc.constant('move' as const),
    tensor: tensorIndex,
    to: fc.oneof(
      fc.constantFrom(...shardNames, 'missing.safetensors', `../${shardNames[0]}`, '__proto__', '', '.', 'a/b', '%2e%2e'),
      fc.string(),
    ),
  }),
  fc.record({ op: fc.constant('delete' as const), tensor: tensorIndex }),
  fc.record({ op: fc.constant('add' as const), name: fc.string(), to: fc.constantFrom(...shardNames) }),
  fc.record({ op: fc.constant('weight_map' as const), value: oddValue }),
  fc.record({ op: fc.constant('cut' as const), at: fc.nat({ max: 200 }) }),
);
type IndexOp = typeof indexOp extends fc.Arbitrary<infer T> ? T : never;

const fuzzCase = fc.oneof(
  {
    weight: 35,
    arbitrary: fc.record({
      kind: fc.constant('bytes' as const),
      dtype: fc.constantFrom('F32' as const, 'BF16' as const),
      ops: fc.array(byteOp, { minLength: 1, maxLength: 4 }),
    }),
  },
  {
    weight: 30,
    arbitrary: fc.record({
      kind: fc.constant('header' as const),
      ops: fc.array(headerOp, { minLength: 1, maxLength: 3 }),
      keepLength: fc.boolean(),
    }),
  },
  { weight: 25, arbitrary: fc.record({ kind: fc.constant('config' as const), ops: fc.array(configOp, { minLength: 1, maxLength: 3 }) }) },
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant('index' as const),
      ops: fc.array(indexOp, { minLength: 1, maxLength: 3 }),
      shardBytes: fc.option(byteOp),
    }),
  },
);
type FuzzCase = typeof fuzzCase extends fc.Arbitrary<infer T> ? T : never;

// ---- applying mutations

function applyBytes(file: Uint8Array, ops: ByteOp[]): Uint8Array {
  let bytes = Uint8Array.from(file);
  for (const o of ops) {
    const at = o.op === 'length' ? 0 : o.at % Math.max(1, bytes.length);
    if (o.op === 'flip' && at < bytes.length) bytes[at] ^= 1 << o.bit;
    if (o.op === 'set' && at < bytes.length) bytes[at] = o.value;
    if (o.op === 'insert') bytes = Uint8Array.from([...bytes.subarray(0, at), ...o.bytes, ...bytes.subarray(at)]);
    if (o.op === 'delete') bytes = Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + o.count)]);
    if (o.op === 'truncate') bytes = bytes.slice(0, at);
    if (o.op === 'length' && bytes.length >= 8) new DataView(bytes.buffer).setBigUint64(0, o.value, true);
  }
  return bytes;
}

/** Header edits on a list of [key, value] pairs, so "__proto__" and duplicate keys reach the JSON text as written. */
function applyHeader(ops: HeaderOp[], keepLength: boolean): Uint8Array {
  const { header, data } = splitSafetensors(models.F32);
  const entries: Array<[string, unknown]> = Object.entries(header).map(([k, v]) => [k, structuredClone(v)]);
  const find = (i: number) => entries.find(([k]) => k === tensorNames[i]);
  for (const o of ops) {
    if (o.op === 'metadata') {
      entries.push(['__metadata__', o.value]);
      continue;
    }
    const entry = find(o.tensor);
    if (!entry) continue;
    const fields = (typeof entry[1] === 'object' && entry[1] !== null ? entry[1] : {}) as Record<string, unknown>;
    if (o.op === 'dtype') fields.dtype = o.value;
    if (o.op === 'shape') fields.shape = o.value;
    if (o.op === 'reshape' && Array.isArray(fields.shape)) fields.shape = [fields.shape.reduce((a: number, b: number) => a * b, 1)];
    if (o.op === 'offsets') fields.data_offsets = o.value;
    if (o.op === 'shift' && Array.isArray(fields.data_offsets)) {
      const [b, e] = fields.data_offsets as number[];
      fields.data_offsets = [b + o.begin, e + o.end];
    }
    if (o.op === 'rename') entry[0] = o.to;
    if (o.op === 'delete') entries.splice(entries.indexOf(entry), 1);
    if (o.op === 'entry') entry[1] = structuredClone(o.value); // later ops edit it in place
    if (o.op === 'field') fields[o.key] = o.value;
  }
  // keepLength: the prefix keeps the original length, which fits when the header did not grow (padded with spaces,
  // as writers align the data section).
  const json = objectJson(entries);
  const original = headerEnd - 8;
  return keepLength ? rawSafetensors(json.padEnd(original, ' '), data, BigInt(original)) : rawSafetensors(json, data);
}

function applyConfig(ops: ConfigOp[]): string {
  const entries: Array<[string, unknown]> = Object.entries(config);
  let cut: number | undefined;
  const remove = (key: string) => {
    const i = entries.findIndex(([k]) => k === key);
    if (i >= 0) entries.splice(i, 1);
  };
  for (const o of ops) {
    if (o.op === 'cut') cut = o.at;
    else if (o.op === 'layers') {
      remove('layer_type');
      remove('num_hidden_layers');
      entries.push(['num_hidden_layers', o.value]);
    } else {
      remove(o.key);
      if (o.op === 'set') entries.push([o.key, o.value]);
    }
  }
  const text = objectJson(entries);
  return cut === undefined ? text : text.slice(0, cut);
}

function applyIndex(ops: IndexOp[]): string {
  const weightMap = structuredClone(
    (JSON.parse(sharded['model.safetensors.index.json'] as string) as { weight_map: Record<string, unknown> }).weight_map,
  );
  const entries: Array<[string, unknown]> = Object.entries(weightMap);
  let weightMapValue: unknown;
  let cut: number | undefined;
  for (const o of ops) {
    const i = o.op === 'move' || o.op === 'delete' ? entries.findIndex(([k]) => k === tensorNames[o.tensor]) : -1;
    if (o.op === 'move' && i >= 0) entries[i][1] = o.to;
    if (o.op === 'delete' && i >= 0) entries.splice(i, 1);
    if (o.op === 'add') entries.push([o.name, o.to]);
    if (o.op === 'weight_map') weightMapValue = o.value;
    if (o.op === 'cut') cut = o.at;
  }
  const text = `{"metadata":{},"weight_map":${weightMapValue === undefined ? objectJson(entries) : toJson(weightMapValue)}}`;
  return cut === undefined ? text : text.slice(0, cut);
}

function folderFor(c: FuzzCase): Folder {
  switch (c.kind) {
    case 'bytes':
      return { 'config.json': configText, 'model.safetensors': applyBytes(models[c.dtype], c.ops) };
    case 'header':
      return { 'config.json': configText, 'model.safetensors': applyHeader(c.ops, c.keepLength) };
    case 'config':
      return { 'config.json': applyConfig(c.ops), 'model.safetensors': models.F32 };
    case 'index': {
      const folder: Folder = { 'config.json': configText, ...sharded, 'model.safetensors.index.json': applyIndex(c.ops) };
      if (c.shardBytes) folder[shardNames[1]] = applyBytes(sharded[shardNames[1]] as Uint8Array, [c.shardBytes]);
      return folder;
    }
  }
}

// ---- the property

/** A memory folder whose byte sources check every read: inside the file, and no byte read twice in total. */
function checkedFolder(folder: Folder): { files: ModelFiles; problems: string[] } {
  const problems: string[] = [];
  const files: ModelFiles = {
    label: 'm',
    async open(name) {
      if (!Object.hasOwn(folder, name)) return null;
      const body = folder[name];
      const inner = memorySource(`m/${name}`, typeof body === 'string' ? new TextEncoder().encode(body) : body);
      let total = 0;
      const checked: ByteSource = {
        name: inner.name,
        size: inner.size,
        read(offset, length) {
          if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > inner.size) {
            problems.push(`${name}: read(${offset}, ${length}) outside its ${inner.size} bytes`);
          }
          total += length;
          if (total > inner.size) problems.push(`${name}: ${total} bytes read from a ${inner.size}-byte file`);
          return inner.read(offset, length);
        },
      };
      return checked;
    },
  };
  return { files, problems };
}

const numel = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
const BYTES_PER_VALUE = { F32: 4, F16: 2, BF16: 2 } as const;

type Outcome = { loaded: true } | { loaded: false; error: CheckpointError | ConfigError };

async function check(c: FuzzCase): Promise<Outcome> {
  const { files, problems } = checkedFolder(folderFor(c));
  const start = performance.now();
  let outcome: Outcome;
  try {
    const ckpt = await loadCheckpoint(files);
    const expected = expectedTensors(ckpt.config);
    expect(ckpt.weights.size).toBe(expected.size);
    for (const [name, shape] of expected) {
      const w = ckpt.weights.get(name);
      expect(w?.shape, name).toEqual(shape);
      expect(w!.bytes.length, name).toBe(numel(shape) * BYTES_PER_VALUE[w!.dtype]);
      expect(weightF32(w!).length, name).toBe(numel(shape));
    }
    outcome = { loaded: true };
  } catch (e) {
    if (!(e instanceof CheckpointError) && !(e instanceof ConfigError)) throw e;
    // Names the folder's file: CheckpointErrors start with it, ConfigErrors from the loader end with it.
    if (e instanceof CheckpointError) expect(e.message).toMatch(/^m[/ ]/);
    else expect(e.message).toMatch(/^config\.json: "[^"]*": .* \(in m\/config\.json\)$/s);
    expect(e.message.length).toBeLessThan(1000);
    outcome = { loaded: false, error: e };
  }
  expect(problems).toEqual([]);
  expect(performance.now() - start).toBeLessThan(CASE_LIMIT_MS);
  return outcome;
}

describe('loadCheckpoint under random mutation', () => {
  it('the unmutated fixtures load', async () => {
    for (const c of [
      { kind: 'bytes', dtype: 'F32', ops: [] },
      { kind: 'bytes', dtype: 'BF16', ops: [] },
      { kind: 'header', ops: [], keepLength: true },
      { kind: 'config', ops: [] },
      { kind: 'index', ops: [], shardBytes: null },
    ] as FuzzCase[]) {
      expect((await check(c)).loaded, c.kind).toBe(true);
    }
  });

  it(`loads or refuses with a typed error, ${NUM_RUNS} cases`, async () => {
    const counts = { loaded: 0, CheckpointError: 0, ConfigError: 0 };
    const messages = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fuzzCase, async (c) => {
        const outcome = await check(c);
        if (outcome.loaded) counts.loaded++;
        else {
          counts[outcome.error.name as 'CheckpointError' | 'ConfigError']++;
          // The kind of complaint, without the numbers and names that vary from case to case.
          messages.add(outcome.error.message.replace(/\(tensor "[^"]*"\)|"[^"]*"|\[[^\]]*\]|\d+/g, '·').slice(0, 60));
        }
      }),
      { numRuns: NUM_RUNS, timeout: 2000 },
    );
    console.log(`checkpoint fuzz: ${JSON.stringify(counts)}, ${messages.size} kinds of message`); // docs/hostile-input.md
    // The fuzzer reached deep: some mutations load, many different checks fire, of both error classes.
    expect(counts.loaded).toBeGreaterThan(NUM_RUNS * 0.02);
    expect(counts.CheckpointError).toBeGreaterThan(NUM_RUNS * 0.3);
    expect(counts.ConfigError).toBeGreaterThan(NUM_RUNS * 0.05);
    expect(messages.size).toBeGreaterThan(40);
  }, 60_000);
});
