// The synthetic tasks: MQAR (Zoology's multiquery_ar layout), selective copying, and recall scoring.
import { describe, expect, it } from 'vitest';
import {
  MqarTask,
  mqarExample,
  Rng,
  RecallScore,
  SelectiveCopyTask,
  selectiveCopyExample,
  TaskError,
  taskByName,
} from '../engine/tasks/index.ts';

describe('MQAR', () => {
  it('lays out k v pairs, then each key once as a query whose target is its value', () => {
    const ex = mqarExample(new Rng(3), 16);
    expect(ex.ids.length).toBe(128);
    const keys = new Set<number>();
    const values = new Map<number, number>();
    for (let j = 0; j < 16; j++) {
      const [k, v] = [ex.ids[2 * j], ex.ids[2 * j + 1]];
      expect(k).toBeGreaterThanOrEqual(1);
      expect(k).toBeLessThan(256);
      expect(v).toBeGreaterThanOrEqual(256);
      expect(v).toBeLessThan(512);
      keys.add(k);
      values.set(k, v);
    }
    expect(keys.size).toBe(16);
    expect(new Set(values.values()).size).toBe(16);
    expect(ex.queries.length).toBe(16);
    const queried = new Set<number>();
    for (const q of ex.queries) {
      expect(q.pos).toBeGreaterThanOrEqual(32);
      expect((q.pos - 32) % 2).toBe(0);
      expect(ex.ids[q.pos]).toBe(q.key);
      expect(ex.targets[q.pos]).toBe(values.get(q.key));
      expect(ex.ids[q.keyPos]).toBe(q.key);
      expect(q.distance).toBe(q.pos - q.keyPos);
      queried.add(q.key);
    }
    expect(queried).toEqual(keys);
    // Everything after the context that is not a query is blank, and only queries carry a loss.
    for (let t = 32; t < 128; t++) {
      const isQuery = ex.queries.some((q) => q.pos === t);
      if (!isQuery) expect(ex.ids[t]).toBe(0);
      expect(ex.targets[t] >= 0).toBe(isQuery);
    }
    for (let t = 0; t < 32; t++) expect(ex.targets[t]).toBe(-1);
  });

  it('is deterministic for a seed and different across seeds', () => {
    expect(mqarExample(new Rng(9), 8).ids).toEqual(mqarExample(new Rng(9), 8).ids);
    expect(mqarExample(new Rng(9), 8).ids).not.toEqual(mqarExample(new Rng(10), 8).ids);
  });

  it('favours short gaps (power law, a = 0.01)', () => {
    const rng = new Rng(1);
    const counts = new Array(60).fill(0);
    let sum = 0;
    let n = 0;
    for (let i = 0; i < 1000; i++) {
      for (const q of mqarExample(rng, 4).queries) {
        const gap = (q.pos - 8) / 2;
        counts[gap]++;
        sum += gap;
        n++;
      }
    }
    // p(gap) ∝ (gap + 1)^−0.99 over 60 slots: slot 0 is ~57× likelier than slot 59 for one draw; drawing 4
    // without replacement flattens that, but slot 0 stays far ahead and the mean gap far below uniform's 29.5.
    expect(counts[0]).toBeGreaterThan(8 * counts[59]);
    expect(sum / n).toBeLessThan(22);
  });

  it('samples the training range of pairs and rejects impossible settings with TaskError', () => {
    const task = new MqarTask();
    const seen = new Set<number>();
    const rng = new Rng(2);
    for (let i = 0; i < 200; i++) seen.add(task.sample(rng).pairs);
    expect(Math.min(...seen)).toBe(4);
    expect(Math.max(...seen)).toBe(24);
    expect(() => mqarExample(new Rng(0), 33)).toThrow(TaskError);
    expect(() => mqarExample(new Rng(0), 4, 127)).toThrow(/even sequence length/);
    expect(() => new MqarTask({ vocabSize: 100 })).toThrow(/vocab_size > seq_len/);
    expect(() => taskByName('nope')).toThrow(TaskError);
  });
});

describe('selective copying', () => {
  it('scatters tokens among blanks and asks for them in order at the markers', () => {
    const ex = selectiveCopyExample(new Rng(4), 8, 64, 16);
    const data = Array.from(ex.ids.subarray(0, 56)).filter((v) => v !== 0);
    expect(data.length).toBe(8);
    for (const v of data) {
      expect(v).toBeGreaterThanOrEqual(1);
      expect(v).toBeLessThanOrEqual(14);
    }
    expect(Array.from(ex.ids.subarray(56))).toEqual(Array(8).fill(15));
    expect(Array.from(ex.targets.subarray(56))).toEqual(data);
    expect(new SelectiveCopyTask().sample(new Rng(1)).ids.length).toBe(128);
    expect(() => selectiveCopyExample(new Rng(0), 40, 64)).toThrow(TaskError);
  });
});

describe('recall scoring', () => {
  it('counts correct answers overall and by key→query distance bucket', () => {
    const ex = mqarExample(new Rng(5), 8);
    const score = new RecallScore([0, 16, 64]);
    const predicted = ex.queries.map((q, i) => (i % 2 === 0 ? q.value : 0));
    score.add(ex, predicted);
    expect(score.overall).toEqual({ correct: Math.ceil(ex.queries.length / 2), total: ex.queries.length });
    const table = score.distanceTable();
    const total = Object.values(table).reduce((s, v) => s + v.queries, 0);
    expect(total).toBe(8);
    for (const q of ex.queries) expect(Object.keys(table)).toContain(score.bucketOf(q.distance));
    expect(score.bucketOf(15)).toBe('0-16');
    expect(score.bucketOf(16)).toBe('16-64');
    expect(score.bucketOf(500)).toBe('64+');
  });
});
