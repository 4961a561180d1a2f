// engine/analysis/sample-budget.ts: a measurement in rounds sized to the device's speed, and the recall measurements
// it drives: answered in rounds (freshExamples' `from`, mergeCells), they give exactly the one-go result.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../engine/config.ts';
import { CpuEngine } from '../engine/cpu/forward.ts';
import { randomCheckpoint } from '../engine/session/random-checkpoint.ts';
import { ZOO } from '../engine/train/zoo.ts';
import {
  answerExamples,
  evaluatePoints,
  freshExamples,
  headImportance,
  mergeCells,
  mqar128,
  RecallAnalysisError,
  selectiveCopy,
  type ImportanceCell,
} from '../engine/analysis/recall.ts';
import { measureInRounds, roundSizes, SampleBudgetError, sequencesWithin } from '../engine/analysis/sample-budget.ts';
import type { Engine } from '../engine/model.ts';

const hymba = parseConfig(ZOO.find((z) => z.name === 'hymba')!.config as Record<string, unknown>);
const engine = new CpuEngine(randomCheckpoint(hymba, 3));

describe('sample size from the measured speed', () => {
  it('fits the budget at the measured speed, between the pilot and the maximum', () => {
    expect(sequencesWithin({ max: 16, ms: 2000 }, 400)).toBe(5); // SwiftShader-like: 400 ms a sequence
    expect(sequencesWithin({ max: 16, ms: 2000 }, 5)).toBe(16); // a GPU: capped at the full count
    expect(sequencesWithin({ max: 16, ms: 2000, pilot: 2 }, 10_000)).toBe(2); // too slow: the pilot is all there is
    expect(sequencesWithin({ max: 16, ms: 2000 }, 0)).toBe(16);
  });

  it('splits what is left after the pilot into even rounds', () => {
    expect(roundSizes(1, 16, 3)).toEqual([5, 5, 5]);
    expect(roundSizes(1, 3, 3)).toEqual([1, 1]);
    expect(roundSizes(2, 2, 3)).toEqual([]);
    expect(roundSizes(1, 11, 4).reduce((a, b) => a + b)).toBe(10);
  });

  it('times the pilot on the given clock and runs the rounds that fit, each on the next sequences', async () => {
    let clock = 0;
    const calls: Array<[number, number]> = [];
    const total = await measureInRounds(
      { max: 32, ms: 3000, pilot: 2, rounds: 2 },
      async (from, n) => {
        calls.push([from, n]);
        clock += 250 * n; // 250 ms a sequence
      },
      { now: () => clock },
    );
    expect(total).toBe(12);
    expect(calls).toEqual([
      [0, 2],
      [2, 5],
      [7, 5],
    ]);
  });

  it('stops between rounds when cancelled', async () => {
    const signal = { aborted: false };
    const calls: number[] = [];
    const total = await measureInRounds(
      { max: 20, ms: 1e9 },
      async (from) => {
        calls.push(from);
        if (from > 0) signal.aborted = true;
      },
      { signal },
    );
    expect(calls).toHaveLength(2);
    expect(total).toBeLessThan(20);
  });

  it('refuses a budget it cannot use', async () => {
    await expect(measureInRounds({ max: 0, ms: 10 }, async () => {})).rejects.toThrow(SampleBudgetError);
    await expect(measureInRounds({ max: 4, ms: NaN }, async () => {})).rejects.toThrow(/time budget/);
  });
});

describe('recall measured in rounds', () => {
  it('freshExamples from k continues the same stream', () => {
    const all = freshExamples(mqar128(), 8, 5, 7);
    expect(freshExamples(mqar128(), 8, 3, 7, 2)).toEqual(all.slice(2));
    expect(() => freshExamples(mqar128(), 8, 1, 7, -1)).toThrow(RecallAnalysisError);
  });

  it('curve points in two rounds add up to the one-go points', async () => {
    const whole = await evaluatePoints(engine, mqar128(), [{ pairs: 8, n: 3 }]);
    const a = await evaluatePoints(engine, mqar128(), [{ pairs: 8, n: 1 }]);
    const b = await evaluatePoints(engine, mqar128(), [{ pairs: 8, n: 2, from: 1 }]);
    expect(a[0].correct + b[0].correct).toBe(whole[0].correct);
    expect(a[0].total + b[0].total).toBe(whole[0].total);
    expect([...a[0].examples, ...b[0].examples]).toEqual(whole[0].examples);
  });

  it('head importance in rounds, merged, equals the one-go sweep', async () => {
    const o = { tasks: [mqar128(), selectiveCopy()], pairs: 8 };
    const whole = await headImportance(engine, { ...o, n: 3 });
    const first = await headImportance(engine, { ...o, n: 1 });
    const rest = await headImportance(engine, { ...o, n: 2, from: 1 });
    const merged = first.map((c, i) => mergeCells(c, rest[i]));
    expect(merged.map((c) => [c.task, c.layer, c.branch, c.sequences, c.queries])).toEqual(
      whole.map((c) => [c.task, c.layer, c.branch, 3, c.queries]),
    );
    merged.forEach((c, i) => {
      expect(c.baseline).toBeCloseTo(whole[i].baseline, 12);
      expect(c.ablated).toBeCloseTo(whole[i].ablated, 12);
      expect(c.drop).toBeCloseTo(whole[i].drop, 12);
    });
    const other: ImportanceCell = { ...first[0], layer: first[0].layer + 1 };
    expect(() => mergeCells(first[0], other)).toThrow(/cannot merge/);
  });

  it('the first batched calls carry at most firstBatches sequences; the baseline comes first; progress counts every sequence', async () => {
    const sizes: number[] = [];
    const batched: Engine = {
      ...engine,
      config: engine.config,
      backend: engine.backend,
      forward: (ids, opts) => engine.forward(ids, opts),
      steps: (ids, opts) => engine.steps(ids, opts),
      dispose: () => {},
      async forwardBatch(items, opts) {
        sizes.push(items.length);
        return Promise.all(
          items.map(async (it) => {
            const { logits } = await engine.forward(it.ids, { ...opts, ablation: it.ablation });
            const V = logits.shape[1];
            const data = new Float32Array(it.positions.length * V);
            it.positions.forEach((p, k) => data.set(logits.data.subarray(p * V, (p + 1) * V), k * V));
            return { shape: [it.positions.length, V], data };
          }),
        );
      },
    };
    const jobs = freshExamples(mqar128(), 4, 5).map((example) => ({ example }));
    const plain = await answerExamples(engine, jobs);
    expect(await answerExamples(batched, jobs, { batch: 3, firstBatches: [1] })).toEqual(plain);
    expect(sizes).toEqual([1, 3, 1]);
    sizes.length = 0;
    expect(await answerExamples(batched, jobs, { batch: 3, firstBatches: [1, 1] })).toEqual(plain);
    expect(sizes).toEqual([1, 1, 3]);
    await expect(answerExamples(batched, jobs, { firstBatches: [0] })).rejects.toThrow(
      /first batch sizes must be positive integers, got 0/,
    );
    // Head importance's pilot: the intact run alone (its baseline reported at once), then the first removal alone.
    sizes.length = 0;
    const events: string[] = [];
    const cells = await headImportance(batched, {
      tasks: [mqar128()],
      pairs: 4,
      n: 1,
      batch: 8,
      firstBatches: [1, 1],
      onBaseline: (task, accuracy, sequences) => events.push(`baseline ${task} ${accuracy} ${sequences} after ${sizes.length} calls`),
      onCell: (c) => events.push(`cell ${c.branch}@${c.layer} after ${sizes.length} calls`),
    });
    expect(sizes.slice(0, 2)).toEqual([1, 1]);
    expect(events[0]).toBe(`baseline mqar ${cells[0].baseline} 1 after 1 calls`);
    expect(events[1]).toBe(`cell ${cells[0].branch}@${cells[0].layer} after 2 calls`);
    const progress: number[] = [];
    await headImportance(engine, { tasks: [mqar128()], pairs: 4, n: 1, onProgress: (done, total) => progress.push(done / total) });
    expect(progress.at(-1)).toBe(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });
});
