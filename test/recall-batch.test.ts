// The batched recall path (issue #7): WebGpuEngine.forwardBatch answers many sequences per pass, each with its own
// ablation, and engine/analysis/recall.ts sends a whole toggle's sequences through it. Held to the per-sequence
// paths: forwardBatch's logits are those of forward() for each item alone (both kernel profiles, random models with
// meta tokens, SWA, KV sharing and single-branch layers), and on zoo models the batched measurements give the
// CPU reference engine's answers, query for query, with and without an ablation. A stub engine checks the batching
// itself (how many calls, in which order, stopping early) without a GPU.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../engine/checkpoint/load.ts';
import { folderFiles } from '../engine/checkpoint/folder.node.ts';
import { CpuEngine } from '../engine/cpu/forward.ts';
import { WebGpuEngine } from '../engine/webgpu/engine.ts';
import { nodeGpu } from '../engine/webgpu/node-device.node.ts';
import { parseAblation, type Ablation } from '../engine/ablation.ts';
import { InputError, type BatchItem, type Engine } from '../engine/model.ts';
import { tensor } from '../engine/tensor.ts';
import {
  answerExamples,
  evaluatePoints,
  evaluateRecall,
  freshExamples,
  headImportance,
  mqar128,
  type AnsweredExample,
} from '../engine/analysis/recall.ts';
import { kernelProfiles, tinyCheckpoint, tinyConfig } from './webgpu-helpers.ts';
import { repoRoot } from './paths.ts';

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe.each(kernelProfiles)('WebGpuEngine.forwardBatch on random small models, %s kernel profile', (kernelProfile) => {
  const ck = tinyCheckpoint(
    { num_hidden_layers: 4, lab_mixers: ['hybrid', 'attention', 'hybrid', 'ssm'], global_attn_idx: [0], kv_reuse_group: [[1, 2]] },
    7,
  );
  const c = ck.config;
  const seq = (k: number) => Array.from({ length: 9 }, (_, t) => (7 * k + 5 * t + 1) % c.vocabSize);
  const ablations: Ablation[] = [[], parseAblation('attn@0', c), parseAblation('ssm@2:1,attn@1', c), [], parseAblation('ssm@*', c)];
  const items: BatchItem[] = ablations.map((ablation, k) => ({ ids: seq(k), positions: [8, 0, 4 + (k % 3)], ablation }));

  it('gives each sequence the logits forward() gives it alone: mixed and shared ablations, meta off, a window, split passes', async () => {
    // 3 × 12 rows per pass: the five sequences go in two passes.
    const gpu = await WebGpuEngine.create(await nodeGpu(), ck, { kernelProfile, maxBatchRows: 3 * 12 });
    const cpu = new CpuEngine(ck);
    try {
      const shared = items.map((it) => ({ ...it, ablation: ablations[2] }));
      for (const [opts, batches] of [
        [{}, [items, shared]],
        [{ meta: false }, [items]],
        [{ window: 2 }, [items]],
      ] as const) {
        for (const batch of batches) {
          const got = await gpu.forwardBatch(batch, opts);
          expect(got).toHaveLength(batch.length);
          for (const [k, item] of batch.entries()) {
            const o = { ...opts, ablation: item.ablation };
            const [alone, ref] = [await gpu.forward(item.ids, o), await cpu.forward(item.ids, o)];
            const V = c.vocabSize;
            expect(got[k].shape).toEqual([item.positions.length, V]);
            const rows = (t: { data: Float32Array }) =>
              Float32Array.from(item.positions.flatMap((p) => [...t.data.subarray(p * V, (p + 1) * V)]));
            // The same kernels over more rows: the per-sequence pass's numbers, and the CPU's within 1e-4.
            expect(maxDiff(got[k].data, rows(alone.logits)), `item ${k} ${JSON.stringify(opts)}`).toBeLessThan(1e-6);
            expect(maxDiff(got[k].data, rows(ref.logits))).toBeLessThan(1e-4);
          }
        }
      }
    } finally {
      gpu.dispose();
    }
  });

  it('refuses sequences of different lengths and positions outside a sequence, with InputError', async () => {
    const gpu = await WebGpuEngine.create(await nodeGpu(), ck, { kernelProfile });
    try {
      await expect(gpu.forwardBatch([items[0], { ids: seq(1).slice(0, 5), positions: [0] }])).rejects.toThrow(
        /batch item 1 has 5 tokens, item 0 has 9/,
      );
      await expect(gpu.forwardBatch([{ ids: seq(0), positions: [9] }])).rejects.toThrow(InputError);
      await expect(gpu.forwardBatch([{ ids: [c.vocabSize], positions: [0] }])).rejects.toThrow(/batch item 0: token id/);
      expect(await gpu.forwardBatch([])).toEqual([]);
      const none = await gpu.forwardBatch([{ ids: seq(0), positions: [] }]);
      expect(none[0].shape).toEqual([0, c.vocabSize]);
    } finally {
      gpu.dispose();
    }
  });
});

describe('batched recall on the zoo agrees with the CPU reference engine, query for query', () => {
  // A few sequences (SwiftShader runs the default 'cpu-like' kernels at ~0.3 s per 128-token sequence).
  const load = async (name: string) => {
    const ck = await loadCheckpoint(folderFiles(path.join(repoRoot, 'models', name)));
    return { gpu: await WebGpuEngine.create(await nodeGpu(), ck), cpu: new CpuEngine(ck) };
  };
  const predictions = (examples: AnsweredExample[]) => examples.flatMap((e) => e.queries.map((q) => q.predicted));

  it('sequential (learned MQAR): accuracy and answers with and without its attention layers', async () => {
    const { gpu, cpu } = await load('sequential');
    try {
      for (const ablation of ['', 'attn@1,attn@3']) {
        const o = { pairs: 16, n: 3, seed: 99, ablation };
        const [g, r] = [await evaluateRecall(gpu, mqar128(), o), await evaluateRecall(cpu, mqar128(), o)];
        expect(g.total).toBe(48);
        expect(predictions(g.examples)).toEqual(predictions(r.examples));
        expect(g.accuracy).toBe(r.accuracy);
        expect(g.byDistance).toEqual(r.byDistance);
      }
    } finally {
      gpu.dispose();
    }
  }, 120_000);

  it('hymba (meta tokens, SWA, shared K/V): a curve in one call, and a head-importance sweep mixing ablations in a batch', async () => {
    const { gpu, cpu } = await load('hymba');
    try {
      const points = [
        { pairs: 8, n: 2 },
        { pairs: 4, n: 1 },
      ];
      const o = { seed: 5, ablation: 'attn@1,attn@2' };
      const [g, r] = [await evaluatePoints(gpu, mqar128(), points, o), await evaluatePoints(cpu, mqar128(), points, o)];
      expect(g.map((p) => p.total)).toEqual([16, 4]);
      expect(g.map((p) => predictions(p.examples))).toEqual(r.map((p) => predictions(p.examples)));
      // One sequence per run, 9 runs (intact + 8 branches) in batches of 8: the second call mixes ablations too.
      const sweep = { tasks: [mqar128()], pairs: 8, n: 1, seed: 3 };
      expect(await headImportance(gpu, sweep)).toEqual(await headImportance(cpu, sweep));
    } finally {
      gpu.dispose();
    }
  }, 120_000);
});

describe('answerExamples batching (stub engine, no GPU)', () => {
  const config = tinyConfig({ vocab_size: 512, max_position_embeddings: 256 });
  /** Answers every position with token (sum of the ids + number of ablation items) mod V; records the calls. */
  const stub = (batchHint?: number) => {
    const calls: number[] = [];
    const V = config.vocabSize;
    const answer = (ids: number[], ablation: Ablation = []) => (ids.reduce((a, b) => a + b, 0) + ablation.length) % V;
    const oneHot = (k: number, id: number) => {
      const data = new Float32Array(k * V);
      for (let r = 0; r < k; r++) data[r * V + id] = 1;
      return tensor([k, V], data);
    };
    const engine: Engine = {
      backend: 'webgpu',
      config,
      batchHint,
      forward: async (ids, o = {}) => ({ logits: oneHot(ids.length, answer(ids, o.ablation)), taps: new Map() }),
      forwardBatch: async (items) => {
        calls.push(items.length);
        return items.map((it) => oneHot(it.positions.length, answer(it.ids, it.ablation)));
      },
      steps: () => {
        throw new Error('not used');
      },
      dispose: () => {},
    };
    return { engine, calls, answer };
  };
  const jobs = (n: number, length = 12) =>
    freshExamples(mqar128(), 4, n, 1).map((e, k) => ({
      example: { ...e, ids: e.ids.slice(0, length), queries: e.queries.filter((q) => q.pos < length) },
      ablation: k % 2 ? parseAblation('attn@0', config) : [],
    }));

  it('runs of up to `batch` consecutive equal-length jobs per call, answers in job order', async () => {
    const { engine, calls, answer } = stub();
    const list = [...jobs(5), ...jobs(2, 10), ...jobs(1)];
    const seen: number[] = [];
    const out = await answerExamples(engine, list, { batch: 3, onAnswered: (_, i) => seen.push(i) });
    expect(calls).toEqual([3, 2, 2, 1]);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    out.forEach((a, k) => {
      for (const q of a.queries) expect(q.predicted).toBe(answer(Array.from(list[k].example.ids), list[k].ablation));
    });
  });

  it("the engine's batchHint is the default batch; a recall-lab toggle (24 + 5 × 8 sequences) is one call", async () => {
    const { engine, calls } = stub(8);
    await answerExamples(engine, jobs(20));
    expect(calls).toEqual([8, 8, 4]);
    const lab = stub();
    const points = [{ pairs: 16, n: 24 }, ...[4, 8, 12, 20, 24].map((pairs) => ({ pairs, n: 8 }))];
    const rs = await evaluatePoints(lab.engine, mqar128(), points, { ablation: 'attn@0' });
    expect(lab.calls).toEqual([64]);
    expect(rs.map((r) => r.examples.length)).toEqual([24, 8, 8, 8, 8, 8]);
  });

  it('stops between calls when the signal is aborted and returns the answered prefix', async () => {
    const { engine, calls } = stub();
    const signal = { aborted: false };
    const out = await answerExamples(engine, jobs(7), { batch: 2, signal, onAnswered: (_, i) => i === 2 && (signal.aborted = true) });
    expect(calls).toEqual([2, 2]);
    expect(out).toHaveLength(4);
  });
});
