// The CPU decode session: golden cached/uncached greedy decodes, decode == fresh prefill under the `prefill` rule,
// meta state computed once changes nothing, cache bytes == the calculator after every step, taps and readKv.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it, expect, beforeAll } from 'vitest';
import { loadCheckpoint, type Checkpoint } from '../engine/checkpoint/load.ts';
import { folderFiles } from '../engine/checkpoint/folder.node.ts';
import { headerLength, parseHeader, toFloat32 } from '../engine/checkpoint/safetensors.ts';
import { CpuEngine } from '../engine/cpu/forward.ts';
import { parseConfig, type HymbaConfig } from '../engine/config.ts';
import { parseAblation } from '../engine/ablation.ts';
import { cacheBytes } from '../engine/cache/calculator.ts';
import { InputError } from '../engine/model.ts';
import { argmax, generate } from '../engine/sampling.ts';
import { randomCheckpoint } from '../engine/session/random-checkpoint.ts';
import type { DecodeSession, WindowRule } from '../engine/session/types.ts';
import { maxAbsDiff, sliceRows } from '../engine/tensor.ts';
import { goldenDir, goldenNames } from './paths.ts';

function readTensors(file: string): Map<string, Float32Array> {
  const bytes = new Uint8Array(readFileSync(file));
  const n = headerLength(file, bytes.subarray(0, 8), bytes.length);
  const header = parseHeader(file, bytes.subarray(8, 8 + n), bytes.length);
  const out = new Map<string, Float32Array>();
  for (const [name, e] of header.tensors) out.set(name, toFloat32(e, bytes.subarray(e.begin, e.end)));
  return out;
}

const rowsOf = (flat: Float32Array, V: number) => Array.from({ length: flat.length / V }, (_, s) => flat.subarray(s * V, (s + 1) * V));
const maxOver = (a: Float32Array[], b: Float32Array[]) => Math.max(...a.map((x, i) => maxAbsDiff(x, b[i])));

/** The session's accounting must equal the calculator's for the same rule, meta count and window. */
function expectCacheMatchesCalculator(s: DecodeSession, config: HymbaConfig, rule: WindowRule, meta: boolean, window: number) {
  const c = { ...config, numMetaTokens: meta ? config.numMetaTokens : 0, slidingWindow: window };
  const want = cacheBytes(c, { seqLen: s.length, dtype: 'f32', stateDtype: 'f32', windowRule: rule });
  const got = s.cacheUsage();
  expect(got.total_bytes).toBe(want.total_bytes);
  expect(got.kv_bytes).toBe(want.kv_bytes);
  expect(got.conv_state_bytes).toBe(want.conv_state_bytes);
  expect(got.ssm_state_bytes).toBe(want.ssm_state_bytes);
  expect(got.layers.map((l) => [l.kvEntries, l.kv_bytes, l.conv_state_bytes, l.ssm_state_bytes])).toEqual(
    want.layers.map((l) => [l.kv_entries, l.kv_bytes, l.conv_state_bytes, l.ssm_state_bytes]),
  );
}

describe.each(goldenNames)('golden %s', (name) => {
  let ck: Checkpoint;
  let engine: CpuEngine;
  let ex: Map<string, Float32Array>;
  let readme: {
    checks: { kv_cache_len_after_each_step: Record<string, number[]>; diag_kv_cache_len_after_each_step: Record<string, number[]> };
  };
  let prompt: number[];
  beforeAll(async () => {
    ck = await loadCheckpoint(folderFiles(goldenDir(name)));
    engine = new CpuEngine(ck);
    ex = readTensors(path.join(goldenDir(name), 'expected.safetensors'));
    readme = JSON.parse(readFileSync(path.join(goldenDir(name), 'README.json'), 'utf8'));
    prompt = Array.from(ex.get('input_ids')!);
  });

  it('hf rule: the official cached greedy decode (gen_ids exactly, gen_logits within 1e-4)', async () => {
    const V = engine.config.vocabSize;
    const r = await generate(engine.session({ windowRule: 'hf' }), prompt, { maxNewTokens: 12 });
    expect(r.ids).toEqual(Array.from(ex.get('gen_ids')!));
    expect(maxOver(r.logits, rowsOf(ex.get('gen_logits')!, V))).toBeLessThan(1e-4);
  });

  it('prefill rule: the no-cache greedy decode and the teacher-forced prefill logits', async () => {
    const V = engine.config.vocabSize;
    const r = await generate(engine.session({ windowRule: 'prefill' }), prompt, { maxNewTokens: 12 });
    expect(r.ids).toEqual(Array.from(ex.get('gen_ids_nocache')!));
    expect(maxOver(r.logits, rowsOf(ex.get('gen_logits_nocache')!, V))).toBeLessThan(1e-4);
    expect(maxOver(r.logits, rowsOf(ex.get('gen_logits_tf_nocache')!, V))).toBeLessThan(1e-4);
  });

  it.each(['hf', 'prefill'] as const)(
    '%s rule: KV entries per layer follow the official cache lengths; bytes == calculator',
    async (rule) => {
      const s = engine.session({ windowRule: rule });
      const gen = Array.from(ex.get(rule === 'hf' ? 'gen_ids' : 'gen_ids_nocache')!);
      const official =
        rule === 'hf'
          ? readme.checks.kv_cache_len_after_each_step
          : { ...readme.checks.kv_cache_len_after_each_step, ...readme.checks.diag_kv_cache_len_after_each_step };
      await s.prefill(prompt);
      expectCacheMatchesCalculator(s, engine.config, rule, true, engine.config.slidingWindow);
      for (let step = 1; step < 12; step++) {
        await s.step(gen[step - 1]);
        // From the first decode step on, HF's trimmed SWA caches hold what ours hold (HF trims lazily after prefill).
        for (const [layer, lens] of Object.entries(official)) expect(s.cacheUsage().layers[Number(layer)].kvEntries).toBe(lens[step]);
        expectCacheMatchesCalculator(s, engine.config, rule, true, engine.config.slidingWindow);
      }
    },
  );

  it('the precomputed meta state changes nothing but time (logits and taps within 1e-5 of recomputing)', async () => {
    const taps = ['layers.1.attn_out', 'layers.*.ssm.state', 'hidden_states.2'];
    const reused = engine.session({ windowRule: 'prefill', taps });
    const recomputed = engine.session({ windowRule: 'prefill', taps, reuseMetaState: false });
    const a = await reused.prefill(prompt);
    const b = await recomputed.prefill(prompt);
    expect(maxAbsDiff(a.logits, b.logits)).toBeLessThan(1e-5);
    for (const [tapName, t] of a.taps) expect(maxAbsDiff(t, b.taps.get(tapName)!), tapName).toBeLessThan(1e-5);
    for (const id of [5, 9, 2, 7])
      expect(maxAbsDiff((await reused.step(id)).logits, (await recomputed.step(id)).logits)).toBeLessThan(1e-5);
  });
});

describe('session taps and KV snapshots', () => {
  let engine: CpuEngine;
  const ids = [1, 17, 42, 99, 3, 250, 8, 61, 77, 5, 13, 200, 31, 64, 128, 9, 11, 12, 14, 180];
  beforeAll(async () => {
    engine = new CpuEngine(await loadCheckpoint(folderFiles(goldenDir('pub_a_m8_d64')))); // M = 8, W = 16
  });

  it('prefill taps are the forward pass taps of the text rows; step taps are its last row', async () => {
    const M = 8;
    const names = ['hidden_states.3', 'layers.1.attn.k', 'layers.2.attn_out', 'layers.4.ssm.conv', 'layers.5.mlp_out', 'logits'];
    for (const reuseMetaState of [true, false]) {
      const s = engine.session({ windowRule: 'prefill', taps: [...names, 'layers.1.attn.probs'], reuseMetaState });
      const p = await s.prefill(ids.slice(0, 12));
      const full = await engine.forward(ids.slice(0, 12), { taps: names });
      for (const n of names) {
        const want = n === 'logits' ? full.logits : sliceRows(full.taps.get(n)!, M, M + 12);
        expect(maxAbsDiff(p.taps.get(n)!, want), n).toBeLessThan(1e-5);
      }
      expect(p.taps.get('layers.1.attn.probs')!.shape).toEqual([4, 12, M + 12]);
      const st = await s.step(ids[12]);
      const full13 = await engine.forward(ids.slice(0, 13), { taps: names });
      for (const n of names) {
        const want = n === 'logits' ? sliceRows(full13.logits, 12, 13) : sliceRows(full13.taps.get(n)!, M + 12, M + 13);
        expect(maxAbsDiff(st.taps.get(n)!, want), n).toBeLessThan(1e-5);
      }
    }
  });

  it('readKv: an SWA owner holds the meta slots and the newest W (hf) positions; a consumer reads its producer', async () => {
    const s = engine.session({ windowRule: 'hf' });
    await s.prefill(ids);
    for (const id of [3, 4, 5]) await s.step(id);
    const text = ids.length + 3; // positions 8 .. 8+text−1
    const owner = (await s.readKv(1))!;
    expect(owner.positions).toEqual([
      ...Array.from({ length: 8 }, (_, i) => i),
      ...Array.from({ length: 16 }, (_, i) => 8 + text - 16 + i),
    ]);
    expect(owner.k.shape).toEqual([24, 2 * 16]);
    expect(owner.v.shape).toEqual([24, 2 * 32]);
    const consumer = (await s.readKv(2))!;
    expect(consumer.layer).toBe(1);
    expect(maxAbsDiff(consumer.k, owner.k)).toBe(0);
    const global = (await s.readKv(0))!;
    expect(global.positions.length).toBe(8 + text);
    // The K rows are RoPE'd keys of those positions: the newest one equals a fresh prefill's attn.k row.
    const full = await engine.forward([...ids, 3, 4, 5], { taps: ['layers.1.attn.k'] });
    const last = full.taps.get('layers.1.attn.k')!;
    expect(maxAbsDiff(sliceRows(owner.k, 23, 24), sliceRows(last, last.shape[0] - 1, last.shape[0]))).toBeLessThan(1e-5);
  });

  it('refuses bad input with typed errors', async () => {
    const s = engine.session({ maxContext: 4 });
    await expect(s.step(1)).rejects.toThrow(InputError);
    await expect(s.prefill([1, 300])).rejects.toThrow(/outside the vocabulary/);
    await expect(s.prefill([1, 2, 3, 4, 5])).rejects.toThrow(/can take 4 more/);
    await s.prefill([1, 2, 3, 4]);
    await expect(s.step(5)).rejects.toThrow(/can take 0 more/);
    expect(() => engine.session({ windowRule: 'x' as WindowRule })).toThrow(InputError);
  });
});

/** Random small models covering what the golden ones do not. */
function config(over: Record<string, unknown>): HymbaConfig {
  return parseConfig({
    model_type: 'hymba',
    hidden_size: 16,
    num_hidden_layers: 5,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    intermediate_size: 24,
    vocab_size: 40,
    num_memory_tokens: 3,
    sliding_window: 3,
    global_attn_idx: [0, 4],
    kv_reuse_group: [[1, 2, 3]],
    mamba_d_state: 4,
    mamba_dt_rank: 2,
    rope_type: 'ntk',
    max_position_embeddings: 64,
    orig_max_position_embeddings: 32,
    ...over,
  });
}

const cases: Array<{ name: string; config: HymbaConfig; meta?: boolean; window?: number; ablation?: string }> = [
  { name: 'W = 3, triple KV sharing, meta on', config: config({}) },
  { name: 'meta tokens off', config: config({}), meta: false },
  { name: 'M = 0 in the config', config: config({ num_memory_tokens: 0, sliding_window: 2 }) },
  {
    name: 'window override 1, pairs of consumers',
    config: config({
      kv_reuse_group: [
        [1, 2],
        [3, 4],
      ],
      global_attn_idx: [0],
    }),
    window: 1,
  },
  {
    name: 'SSM-only and attention-only layers',
    config: config({ lab_mixers: ['hybrid', 'ssm', 'attention', 'attention', 'hybrid'], kv_reuse_group: [[2, 3]] }),
  },
  { name: 'an ablation (heads and a branch)', config: config({}), ablation: 'attn@1:0,ssm@2,ssm@*:1' },
  // lab_qkv_conv: a Q/K/V conv state per attention layer (consumers convolve their Q only), seeded by the meta tokens.
  { name: 'lab_qkv_conv 3, triple KV sharing', config: config({ lab_qkv_conv: 3 }) },
  { name: 'lab_qkv_conv 4, meta tokens off', config: config({ lab_qkv_conv: 4 }), meta: false },
  {
    name: 'lab_qkv_conv 2, SSM-only and attention-only layers',
    config: config({ lab_qkv_conv: 2, lab_mixers: ['hybrid', 'ssm', 'attention', 'attention', 'hybrid'], kv_reuse_group: [[2, 3]] }),
  },
];

describe.each(cases)('random model: $name', ({ config: c, meta, window, ablation }) => {
  const engine = new CpuEngine(randomCheckpoint(c, 7));
  const W = window ?? c.slidingWindow;
  const opts = { meta, window, ablation: ablation ? parseAblation(ablation, c) : undefined };

  it('prefill rule: every decode step equals a fresh prefill of the same tokens; bytes == calculator while the ring wraps', async () => {
    const s = engine.session({ ...opts, windowRule: 'prefill' });
    const tokens = [1, 7, 22, 5, 31];
    let logits = (await s.prefill(tokens)).logits;
    expectCacheMatchesCalculator(s, c, 'prefill', meta ?? true, W);
    for (let step = 0; step < 6 * (W + 1); step++) {
      const fresh = await engine.forward(tokens, opts);
      expect(maxAbsDiff(logits, sliceRows(fresh.logits, tokens.length - 1, tokens.length).data)).toBeLessThan(1e-5);
      const next = (argmax(logits) + step) % c.vocabSize; // not pure greedy, so the tokens keep changing
      tokens.push(next);
      logits = (await s.step(next)).logits;
      expectCacheMatchesCalculator(s, c, 'prefill', meta ?? true, W);
    }
  });

  it.each(['hf', 'prefill'] as const)('%s rule: a continuation prefill equals one prefill of all the tokens', async (rule) => {
    const s = engine.session({ ...opts, windowRule: rule });
    const first = [1, 7, 22, 5, 31, 2, 9];
    const more = [4, 8, 15, 16, 23, 30, 11, 12];
    await s.prefill(first);
    const r = await s.prefill(more);
    const fresh = await engine.forward([...first, ...more], opts);
    expect(maxAbsDiff(r.logits, sliceRows(fresh.logits, 14, 15).data)).toBeLessThan(1e-5);
  });

  it('hf rule: bytes == calculator while the ring wraps, and decode differs from prefill once the window is full', async () => {
    const hf = engine.session({ ...opts, windowRule: 'hf' });
    const pf = engine.session({ ...opts, windowRule: 'prefill' });
    const tokens = [1, 7, 22, 5, 31];
    await hf.prefill(tokens);
    await pf.prefill(tokens);
    let maxDiff = 0;
    for (let step = 0; step < 3 * W + 2; step++) {
      const id = (step * 11 + 3) % c.vocabSize;
      maxDiff = Math.max(maxDiff, maxAbsDiff((await hf.step(id)).logits, (await pf.step(id)).logits));
      expectCacheMatchesCalculator(hf, c, 'hf', meta ?? true, W);
    }
    // Every random case has SWA layers, so dropping the (W+1)-th newest key must show.
    expect(maxDiff).toBeGreaterThan(1e-4);
  });
});
