// lab_qkv_conv (Primer's multi-dconv-head attention) on the CPU: the config key, the forward op
// `layers.i.attn.qkv_conv` against its formula, W = 1 with weight 1 as the plain model, the session's Q/K/V conv state
// (token by token, in chunks, from the precomputed meta state) against the one-shot forward, and the cache calculator.
import { describe, expect, it } from 'vitest';
import { ConfigError, expectedTensors, parseConfig, type HymbaConfig } from '../engine/config.ts';
import type { Checkpoint } from '../engine/checkpoint/load.ts';
import { CpuEngine } from '../engine/cpu/forward.ts';
import { cacheBytes, toCacheUsage } from '../engine/cache/calculator.ts';
import { resolveConfig } from '../engine/presets.ts';
import { tapNames } from '../engine/model.ts';
import { randomCheckpoint } from '../engine/session/random-checkpoint.ts';
import { maxAbsDiff, sliceCols, sliceRows, tensor, type Tensor } from '../engine/tensor.ts';

/** Hybrid, SSM-only and attention-only layers; a global owner, an SWA owner with two consumers. */
function config(over: Record<string, unknown> = {}): HymbaConfig {
  return parseConfig({
    model_type: 'hymba',
    hidden_size: 16,
    num_hidden_layers: 5,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    intermediate_size: 24,
    vocab_size: 40,
    num_memory_tokens: 3,
    sliding_window: 4,
    global_attn_idx: [0],
    kv_reuse_group: [[2, 3, 4]],
    lab_mixers: ['hybrid', 'ssm', 'attention', 'hybrid', 'hybrid'],
    mamba_d_state: 4,
    mamba_dt_rank: 2,
    rope_type: 'ntk',
    max_position_embeddings: 64,
    orig_max_position_embeddings: 32,
    ...over,
  });
}

/** The plain model's random weights plus a Q/K/V conv weight per attention layer (the other draws unchanged). */
function withQkvConv(plain: Checkpoint, c: HymbaConfig, taps: (column: number, j: number) => number): Checkpoint {
  const weights = new Map(plain.weights);
  for (const l of c.layers) {
    if (l.qkvConv === 0) continue;
    const data = new Float32Array(l.qkvColumns * l.qkvConv);
    for (let col = 0; col < l.qkvColumns; col++) for (let j = 0; j < l.qkvConv; j++) data[col * l.qkvConv + j] = taps(col, j);
    const name = `model.layers.${l.index}.mamba.qkv_conv.weight`;
    weights.set(name, { name, dtype: 'F32', shape: [l.qkvColumns, 1, l.qkvConv], bytes: new Uint8Array(data.buffer) });
  }
  return { config: c, weights, label: `${plain.label} + qkv_conv` };
}

const ids = [1, 7, 22, 5, 31, 2, 9, 4, 8, 15, 16, 23, 30, 11, 12, 3];

describe('config: lab_qkv_conv', () => {
  it('defaults to 0 (no tensor); W applies to attention layers, over Q | own K | own V columns', () => {
    const plain = config();
    expect(plain.layers.map((l) => l.qkvConv)).toEqual([0, 0, 0, 0, 0]);
    expect([...expectedTensors(plain).keys()].some((n) => n.includes('qkv_conv'))).toBe(false);

    const c = config({ lab_qkv_conv: 3 });
    // Q: 2 heads × 8; K: 1 × 8; V: 1 × 16 (d_inner 32 / 2 heads). Consumers (3, 4) own only their Q.
    expect(c.layers.map((l) => [l.qkvConv, l.qkvColumns])).toEqual([
      [3, 40],
      [0, 0],
      [3, 40],
      [3, 16],
      [3, 16],
    ]);
    for (const l of c.layers) if (l.hasAttention) expect(l.rows.x?.[0] ?? l.rows.total).toBe(l.qkvColumns);
    const t = expectedTensors(c);
    expect(t.get('model.layers.0.mamba.qkv_conv.weight')).toEqual([40, 1, 3]);
    expect(t.get('model.layers.3.mamba.qkv_conv.weight')).toEqual([16, 1, 3]);
    expect(t.has('model.layers.1.mamba.qkv_conv.weight')).toBe(false);
    expect(tapNames(c)).toContain('layers.3.attn.qkv_conv');
    expect(tapNames(c)).not.toContain('layers.1.attn.qkv_conv');
    expect(tapNames(plain).some((n) => n.includes('qkv_conv'))).toBe(false);
  });

  it.each([
    [-1, /expected ≥ 0, got -1/],
    [1.5, /expected an integer, got 1\.5/],
    [9, /expected ≤ 8, got 9/],
    ['2', /expected a number, got "2"/],
    [true, /expected a number/],
  ])('refuses %j naming the key', (value, pattern) => {
    let err: unknown;
    try {
      config({ lab_qkv_conv: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).key).toBe('lab_qkv_conv');
    expect((err as Error).message).toMatch(pattern);
  });
});

describe('CPU forward: layers.i.attn.qkv_conv', () => {
  const plain = config();
  const plainCk = randomCheckpoint(plain, 11);

  it('W = 1 with weight 1 is the plain model (logits and Q/K/V exactly)', async () => {
    const c = config({ lab_qkv_conv: 1 });
    const a = new CpuEngine(plainCk);
    const b = new CpuEngine(withQkvConv(plainCk, c, () => 1));
    const taps = ['layers.*.attn.q', 'layers.*.attn.k', 'layers.*.attn.v', 'hidden_states.5'];
    const ra = await a.forward(ids, { taps });
    const rb = await b.forward(ids, { taps: [...taps, 'layers.*.attn.qkv_conv'] });
    expect(maxAbsDiff(ra.logits, rb.logits)).toBe(0);
    for (const [name, t] of ra.taps) expect(maxAbsDiff(t, rb.taps.get(name)!), name).toBe(0);
    const proj = (await b.forward(ids, { taps: ['layers.3.in_proj'] })).taps.get('layers.3.in_proj')!;
    expect(maxAbsDiff(rb.taps.get('layers.3.attn.qkv_conv')!, sliceCols(proj, 0, 16))).toBe(0);
    // The session too: its conv state is empty and its cache the calculator's.
    const s = b.session({ windowRule: 'prefill' });
    const r = await s.prefill(ids);
    expect(maxAbsDiff(r.logits, sliceRows(ra.logits, ids.length - 1, ids.length).data)).toBeLessThan(1e-5);
    expect(s.cacheUsage().conv_state_bytes).toBe(cacheBytes(c, { seqLen: ids.length, stateDtype: 'f32' }).conv_state_bytes);
    expect(s.cacheUsage().conv_state_bytes).toBe(cacheBytes(plain, { seqLen: ids.length, stateDtype: 'f32' }).conv_state_bytes);
  });

  it('a conv whose only tap is the current token (W = 3, weights [0, 0, 1]) is the plain model', async () => {
    const c = config({ lab_qkv_conv: 3 });
    const a = await new CpuEngine(plainCk).forward(ids);
    const b = await new CpuEngine(withQkvConv(plainCk, c, (_, j) => (j === 2 ? 1 : 0))).forward(ids);
    expect(maxAbsDiff(a.logits, b.logits)).toBe(0);
  });

  it.each([true, false])('random weights: the tap is the causal conv of in_proj over meta + text (meta %s)', async (meta) => {
    const c = config({ lab_qkv_conv: 3 });
    const engine = new CpuEngine(randomCheckpoint(c, 5));
    const r = await engine.forward(ids, {
      meta,
      taps: ['layers.*.in_proj', 'layers.*.attn.qkv_conv', 'layers.*.attn.q', 'layers.0.attn.v'],
    });
    const N = ids.length + (meta ? c.numMetaTokens : 0);
    for (const l of c.layers) {
      if (!l.hasAttention) continue;
      const P = r.taps.get(`layers.${l.index}.in_proj`)!;
      const got = r.taps.get(`layers.${l.index}.attn.qkv_conv`)!;
      expect(got.shape).toEqual([N, l.qkvColumns]);
      const w = engine.weights(`model.layers.${l.index}.mamba.qkv_conv.weight`);
      const want = new Float32Array(N * l.qkvColumns);
      for (let t = 0; t < N; t++) {
        for (let col = 0; col < l.qkvColumns; col++) {
          let s = 0;
          for (let j = 0; j < 3; j++) {
            const tau = t - 3 + 1 + j;
            if (tau >= 0) s += w[col * 3 + j] * P.data[tau * P.shape[1] + col];
          }
          want[t * l.qkvColumns + col] = s;
        }
      }
      expect(maxAbsDiff(got.data, want), `layer ${l.index}`).toBeLessThan(1e-6);
    }
    // V is read from the convolved columns (no RoPE): layer 0's V columns are [24, 40).
    expect(maxAbsDiff(r.taps.get('layers.0.attn.v')!, sliceCols(r.taps.get('layers.0.attn.qkv_conv')!, 24, 40))).toBe(0);
    // And the conv matters: the plain model with the same other weights differs.
    const plainLogits = (await new CpuEngine(randomCheckpoint(plain, 5)).forward(ids, { meta })).logits;
    expect(maxAbsDiff(plainLogits, r.logits)).toBeGreaterThan(1e-3);
  });
});

describe.each([
  { name: 'W = 3, meta state reused', W: 3, meta: true, reuseMetaState: true },
  { name: 'W = 3, meta run in the prefill', W: 3, meta: true, reuseMetaState: false },
  { name: 'W = 4, meta tokens off', W: 4, meta: false, reuseMetaState: true },
  { name: 'W = 8 (longer than the meta tokens)', W: 8, meta: true, reuseMetaState: true },
])('CPU session with lab_qkv_conv: $name', ({ W, meta, reuseMetaState }) => {
  const c = config({ lab_qkv_conv: W });
  const engine = new CpuEngine(randomCheckpoint(c, 3));
  const M = meta ? c.numMetaTokens : 0;
  const taps = ['layers.*.attn.qkv_conv', 'layers.2.attn.k'];

  const expectCache = (usage: ReturnType<ReturnType<CpuEngine['session']>['cacheUsage']>, seqLen: number) => {
    const want = toCacheUsage(cacheBytes({ ...c, numMetaTokens: M }, { seqLen, dtype: 'f32', stateDtype: 'f32', windowRule: 'prefill' }));
    expect({ ...usage, kv_reserved_bytes: undefined }).toEqual({ ...want, kv_reserved_bytes: undefined });
  };

  it.each(['prefill', 'hf'] as const)(
    '%s rule: prefill of 1 token then decode token by token equals the one-shot forward (logits and taps)',
    async (windowRule) => {
      // The hf rule differs from a fresh prefill once an SWA window is full; compare it only within the window.
      const n = windowRule === 'hf' ? c.slidingWindow : ids.length;
      const full = await engine.forward(ids.slice(0, n), { meta, taps });
      const s = engine.session({ meta, windowRule, reuseMetaState, taps });
      const seen = new Map<string, Tensor[]>();
      for (let t = 0; t < n; t++) {
        const r = t === 0 ? await s.prefill([ids[0]]) : await s.step(ids[t]);
        expect(maxAbsDiff(r.logits, sliceRows(full.logits, t, t + 1).data), `token ${t}`).toBeLessThan(1e-5);
        for (const [name, v] of r.taps) seen.set(name, [...(seen.get(name) ?? []), v]);
        if (windowRule === 'prefill') expectCache(s.cacheUsage(), t + 1);
      }
      for (const [name, rows] of seen) expect(maxAbsDiff(concat(rows), sliceRows(full.taps.get(name)!, M, M + n)), name).toBeLessThan(1e-5);
      expect([...seen.keys()].sort()).toEqual(
        ['layers.0.attn.qkv_conv', 'layers.2.attn.k', ...[2, 3, 4].map((i) => `layers.${i}.attn.qkv_conv`)].sort(),
      );
    },
  );

  it('prefill in chunks (1, 5, 2, 7 tokens, then decode) equals the one-shot forward', async () => {
    const full = await engine.forward(ids, { meta });
    const s = engine.session({ meta, windowRule: 'prefill', reuseMetaState });
    let at = 0;
    for (const n of [1, 5, 2, 7]) {
      const r = await s.prefill(ids.slice(at, at + n));
      at += n;
      expect(maxAbsDiff(r.logits, sliceRows(full.logits, at - 1, at).data), `after ${at} tokens`).toBeLessThan(1e-5);
      expectCache(s.cacheUsage(), at);
    }
    const r = await s.step(ids[at]);
    expect(maxAbsDiff(r.logits, sliceRows(full.logits, at, at + 1).data)).toBeLessThan(1e-5);
    // The state counted is qkvColumns × (W − 1) f32 values per attention layer, on top of the SSM conv state.
    const layers = s.cacheUsage().layers.map((l) => l.conv_state_bytes);
    const ssmConv = c.dInner * (c.dConv - 1) * 4;
    expect(layers).toEqual([ssmConv + 40 * (W - 1) * 4, ssmConv, 40 * (W - 1) * 4, ssmConv + 16 * (W - 1) * 4, ssmConv + 16 * (W - 1) * 4]);
  });
});

describe('cache calculator: the Q/K/V conv state', () => {
  it('counts qkvColumns × (W − 1) values per attention layer at the state dtype, in conv_state_bytes', () => {
    const plain = config();
    const c = config({ lab_qkv_conv: 4 });
    for (const stateDtype of ['f32', 'f16'] as const) {
      const bytes = stateDtype === 'f32' ? 4 : 2;
      const a = cacheBytes(plain, { seqLen: 10, stateDtype });
      const b = cacheBytes(c, { seqLen: 10, stateDtype });
      const extra = [40, 0, 40, 16, 16].map((cols) => cols * 3 * bytes);
      expect(b.layers.map((l) => l.conv_state_bytes)).toEqual(a.layers.map((l, i) => l.conv_state_bytes + extra[i]));
      expect(b.conv_state_bytes).toBe(a.conv_state_bytes + 112 * 3 * bytes);
      expect(b.total_bytes).toBe(a.total_bytes + 112 * 3 * bytes);
      expect([b.kv_bytes, b.ssm_state_bytes]).toEqual([a.kv_bytes, a.ssm_state_bytes]);
      // convTaps is the SSM conv's convention and leaves the Q/K/V state alone.
      expect(cacheBytes(c, { seqLen: 10, stateDtype, convTaps: 4 }).conv_state_bytes).toBe(
        cacheBytes(plain, { seqLen: 10, stateDtype, convTaps: 4 }).conv_state_bytes + 112 * 3 * bytes,
      );
    }
    // W = 1 keeps nothing.
    expect(cacheBytes(config({ lab_qkv_conv: 1 }), { seqLen: 10 })).toEqual(cacheBytes(plain, { seqLen: 10 }));
  });

  it('Hymba-1.5B with lab_qkv_conv 4: 17 owners × 2560 + 15 consumers × 1600 columns, 3 rows each', () => {
    const hymba = resolveConfig('hymba-1.5b') as HymbaConfig;
    const c = parseConfig({ ...hymba.raw, lab_qkv_conv: 4 });
    const a = cacheBytes(hymba, { seqLen: 8000 });
    const b = cacheBytes(c, { seqLen: 8000 });
    // Owner: Q 25 × 64 + K 5 × 64 + V 5 × 128 = 2560 columns; consumer: Q only, 1600.
    expect(b.conv_state_bytes - a.conv_state_bytes).toBe((17 * 2560 + 15 * 1600) * 3 * 4);
    expect(b.kv_bytes).toBe(a.kv_bytes);
  });
});

function concat(rows: Tensor[]): Tensor {
  const C = rows[0].shape[1];
  const out = new Float32Array(rows.reduce((a, r) => a + r.data.length, 0));
  let at = 0;
  for (const r of rows) {
    out.set(r.data, at);
    at += r.data.length;
  }
  return tensor([out.length / C, C], out);
}
