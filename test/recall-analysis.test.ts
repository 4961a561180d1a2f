// engine/analysis/recall.ts on hand-made models: the per-layer switches map to the paper's β ablations, the cache of
// a switched configuration drops exactly the branches no longer needed, the answers are the argmax at each query,
// and the fusion gains are read from the two RMSNorm weights.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../engine/config.ts';
import { CpuEngine } from '../engine/cpu/forward.ts';
import { randomCheckpoint } from '../engine/session/random-checkpoint.ts';
import { weightF32 } from '../engine/checkpoint/load.ts';
import { cacheBytes } from '../engine/cache/calculator.ts';
import { ZOO } from '../engine/train/zoo.ts';
import {
  ablationSpec,
  answerExample,
  betaGains,
  effectiveCache,
  evaluateRecall,
  freshExamples,
  headImportance,
  modesOf,
  mqar128,
  parseModes,
  RecallAnalysisError,
  repairModes,
  selectiveCopy,
  standardError,
} from '../engine/analysis/recall.ts';

const zooConfig = (name: string) => parseConfig(ZOO.find((z) => z.name === name)!.config as Record<string, unknown>);
// hymba-conv: Hymba with the Q/K/V conv (the conv finding, as the previous zoo's hymba), so the conv state is covered.
const hymba = zooConfig('hymba-conv');
const sequential = zooConfig('sequential');

describe('per-layer switches', () => {
  it('"SSM only" in layer i is attn@i, "attention only" is ssm@i, off is both', () => {
    expect(ablationSpec(hymba, ['both', 'ssm', 'attention', 'off'])).toBe('attn@1,ssm@2,attn@3,ssm@3');
    expect(ablationSpec(hymba, ['ssm', 'ssm', 'ssm', 'ssm'])).toBe('attn@0,attn@1,attn@2,attn@3');
    expect(ablationSpec(hymba, [])).toBe('');
  });

  it('a single-branch layer can keep its branch or lose it, nothing else', () => {
    expect(modesOf(sequential, 0)).toEqual(['ssm', 'off']);
    expect(modesOf(sequential, 1)).toEqual(['attention', 'off']);
    expect(ablationSpec(sequential, ['off', 'off', 'ssm', 'attention'])).toBe('ssm@0,attn@1');
    expect(() => ablationSpec(sequential, ['attention'])).toThrow(RecallAnalysisError);
    expect(parseModes(sequential, 'off')).toEqual(['off', 'attention', 'ssm', 'attention']);
    expect(() => parseModes(sequential, 'both')).toThrow(/layer 0 cannot be set to "both"/);
    expect(() => parseModes(hymba, 'both,both,both,both,both')).toThrow(/5 layer modes given, the model has 4/);
    expect(() => parseModes(hymba, 'attn')).toThrow(/"attn" is not one of/);
  });
});

describe('repairModes (a widget whose modes were set for another model)', () => {
  it('keeps valid modes and puts impossible, unknown or extra ones back to the trained mode, saying which', () => {
    expect(repairModes(hymba, 'both,ssm')).toEqual({ modes: ['both', 'ssm', 'both', 'both'], problems: [] });
    const ssm = zooConfig('ssm');
    // "attention only" everywhere, then the ssm model: the recall lab's trap (issue 19).
    const r = repairModes(ssm, 'attention,attention,attention,attention');
    expect(r.modes).toEqual(['ssm', 'ssm', 'ssm', 'ssm']);
    expect(r.problems[0]).toMatch(/layer 0 has no attention and an SSM, so it cannot be “attention”; it is back to “ssm”/);
    const odd = repairModes(hymba, 'attn,both,both,both,off');
    expect(odd.modes).toEqual(['both', 'both', 'both', 'both']);
    expect(odd.problems).toEqual([
      '5 layer modes given, the model has 4 layers',
      'layer 0: “attn” is not one of both, attention, ssm, off; it is back to “both”',
    ]);
    for (const { modes } of [r, odd]) expect(() => ablationSpec(hymba, modes)).not.toThrow();
  });
});

describe('effectiveCache', () => {
  const opts = { seqLen: 128 };
  const full = cacheBytes(hymba, opts);

  it('equals the calculator when nothing is switched off', () => {
    expect(effectiveCache(hymba, ['both', 'both', 'both', 'both'], opts)).toEqual(full);
  });

  it('drops the SSM states of SSM-off layers and the K/V no attending layer reads', () => {
    // Layer 2 reads layer 1's K/V (kv_reuse_group [[1, 2]]): switching layer 1's attention off keeps its cache.
    const onlyL1 = effectiveCache(hymba, ['both', 'ssm', 'both', 'both'], opts);
    expect(onlyL1.kv_bytes).toBe(full.kv_bytes);
    const both = effectiveCache(hymba, ['both', 'ssm', 'ssm', 'both'], opts);
    expect(both.kv_bytes).toBe(full.kv_bytes - full.layers[1].kv_bytes);
    // Every attention off: no KV at all; every SSM state still there.
    // hymba-conv's attention layers carry a width-2 Q/K/V conv (lab_qkv_conv): one f32 row of its state goes with the
    // attention branch: Q 64 + K 32 + V 64 columns on owners (layers 0, 1, 3), Q only on the consumer (layer 2).
    const qkvState = (3 * (64 + 32 + 64) + 64) * 4;
    const noAttn = effectiveCache(hymba, ['ssm', 'ssm', 'ssm', 'ssm'], opts);
    expect(noAttn.kv_bytes).toBe(0);
    expect(noAttn.total_bytes).toBe(full.ssm_state_bytes + full.conv_state_bytes - qkvState);
    const noSsm = effectiveCache(hymba, ['attention', 'attention', 'attention', 'attention'], opts);
    expect(noSsm.total_bytes).toBe(full.kv_bytes + qkvState);
    // The SSM state of one layer is d_inner × d_state f32 values.
    expect(full.layers[0].ssm_state_bytes).toBe(128 * 16 * 4);
  });
});

describe('answers and evaluation', () => {
  const engine = new CpuEngine(randomCheckpoint(hymba, 3));

  it('fresh sequences are the same for the same seed and differ for another', () => {
    const a = freshExamples(mqar128(), 8, 3, 11);
    const b = freshExamples(mqar128(), 8, 3, 11);
    const c = freshExamples(mqar128(), 8, 3, 12);
    expect(a.map((e) => Array.from(e.ids))).toEqual(b.map((e) => Array.from(e.ids)));
    expect(a[0].ids).not.toEqual(c[0].ids);
    expect(() => freshExamples(mqar128(), 8, 0)).toThrow(RecallAnalysisError);
  });

  it('an answer is the argmax of the logits at the query position, scored against the value', async () => {
    const [ex] = freshExamples(mqar128(), 6, 1);
    const answered = await answerExample(engine, ex);
    const { logits } = await engine.forward(Array.from(ex.ids));
    const V = logits.shape[1];
    for (const q of answered.queries) {
      const row = Array.from(logits.data.subarray(q.pos * V, (q.pos + 1) * V));
      expect(q.predicted).toBe(row.indexOf(Math.max(...row)));
      expect(q.correct).toBe(q.predicted === q.value);
    }
    expect(answered.queries).toHaveLength(6);
  });

  it('evaluateRecall counts every query; an ablation changes the answers', async () => {
    const r = await evaluateRecall(engine, mqar128(), { pairs: 4, n: 3 });
    expect(r.total).toBe(12);
    expect(r.accuracy).toBeCloseTo(r.correct / 12, 10);
    expect(Object.values(r.byDistance).reduce((s, b) => s + b.queries, 0)).toBe(12);
    const plain = await engine.forward(r.examples[0].ids);
    const ablated = await engine.forward(r.examples[0].ids, { ablation: [{ branch: 'attn', layer: '*', unit: null }] });
    expect(plain.logits.data).not.toEqual(ablated.logits.data);
  });

  it('refuses a task the model cannot read', async () => {
    const small = new CpuEngine(randomCheckpoint(parseConfig({ ...(ZOO[0].config as Record<string, unknown>), vocab_size: 100 }), 1));
    await expect(evaluateRecall(small, mqar128(), { pairs: 4, n: 1 })).rejects.toThrow(/vocabulary has 100/);
  });

  it('head importance: one cell per present branch and task, drop = baseline − ablated', async () => {
    const seq = new CpuEngine(randomCheckpoint(sequential, 2));
    const cells = await headImportance(seq, { tasks: [mqar128(), selectiveCopy()], n: 1 });
    // sequential: layers 0, 2 SSM only, 1, 3 attention only → 4 cells per task.
    expect(cells.map((c) => `${c.task}:${c.branch}@${c.layer}`)).toEqual([
      'mqar:ssm@0',
      'mqar:attn@1',
      'mqar:ssm@2',
      'mqar:attn@3',
      'copy:ssm@0',
      'copy:attn@1',
      'copy:ssm@2',
      'copy:attn@3',
    ]);
    for (const c of cells) expect(c.drop).toBeCloseTo(c.baseline - c.ablated, 12);
  });

  it('β gains: mean |weight| of pre_avg_layernorm1 (attention) and 2 (SSM), null where the branch is absent', () => {
    const ck = randomCheckpoint(sequential, 5);
    const w = (n: string) => (ck.weights.get(n) ? weightF32(ck.weights.get(n)!) : undefined);
    const gains = betaGains(sequential, w);
    const expected = (n: string) => {
      const a = w(n)!;
      return a.reduce((s, x) => s + Math.abs(x), 0) / a.length;
    };
    expect(gains[0].attn).toBeNull();
    expect(gains[0].ssm).toBeCloseTo(expected('model.layers.0.mamba.pre_avg_layernorm2.weight'), 6);
    expect(gains[1].ssm).toBeNull();
    expect(gains[1].attn).toBeCloseTo(expected('model.layers.1.mamba.pre_avg_layernorm1.weight'), 6);
  });

  it('standard error of an accuracy', () => {
    expect(standardError(0.5, 100)).toBeCloseTo(0.05, 10);
    expect(standardError(1, 100)).toBeCloseTo(0.01, 10); // never 0: one miss in n is always possible
  });
});
