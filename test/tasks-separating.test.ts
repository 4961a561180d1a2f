// The 512-token tasks that separate the roadmap's designs (issue 18): generator invariants as properties over seeds
// and levels, each answer recomputed from the inputs alone, and the evaluator scored against hand-built predictors
// (an oracle scores 100 %, a constant guess scores the chance rate counted from the inputs).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  COPY_512,
  MAJORITY_LAYOUT,
  MajorityTask,
  MixTask,
  MqarTask,
  MQAR_512,
  RecallScore,
  Rng,
  SelectiveCopyTask,
  TASK_NAMES,
  TaskError,
  majorityExample,
  marginBucket,
  taskByName,
  type Example,
} from '../engine/tasks/index.ts';

const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });

// ---------------------------------------------------------------- oracles: the answers from the ids alone

/** MQAR: the value written right after the key's first occurrence in the context. */
function mqarOracle(ex: Example): number[] {
  return ex.queries.map((q) => {
    const at = Array.from(ex.ids).indexOf(ex.ids[q.pos]);
    return ex.ids[at + 1];
  });
}

/** Selective copying: the non-blank, non-marker tokens in order; the i-th marker gets the i-th. */
function copyOracle(ex: Example, marker: number): number[] {
  const data = Array.from(ex.ids).filter((v) => v !== 0 && v !== marker);
  return ex.queries.map((_, i) => data[i]);
}

/** Majority: count class tokens (1..16) over the whole sequence; the most frequent one. */
function majorityCounts(ex: Example): number[] {
  const counts = new Array(17).fill(0);
  for (const v of ex.ids) if (v >= 1 && v <= 16) counts[v]++;
  return counts;
}
function majorityOracle(ex: Example): number[] {
  const counts = majorityCounts(ex);
  return [counts.indexOf(Math.max(...counts))];
}

function oracleFor(name: string): (ex: Example) => number[] {
  // A mixture's example: the oracle of the component that made it (its answers are labelled with it).
  if (name.startsWith('mix')) return (ex) => oracleFor(ex.queries[0].axes!.task)(ex);
  if (name.startsWith('mqar')) return mqarOracle;
  if (name.startsWith('copy')) return (ex) => copyOracle(ex, taskByName(name).vocabSize - 1);
  return majorityOracle;
}

// ---------------------------------------------------------------- every task

describe.each(TASK_NAMES)('task %s: generator invariants', (name) => {
  const task = taskByName(name);
  const levels = task.evalLevels ?? [];

  it('has the declared length and vocabulary, loss exactly at its answers, and answers the inputs determine', () => {
    fc.assert(
      fc.property(seed, fc.option(fc.constantFrom(...levels), { nil: undefined }), (s, level) => {
        const ex = task.sample(new Rng(s), level);
        expect(ex.ids.length).toBe(task.seqLen);
        expect(ex.targets.length).toBe(task.seqLen);
        for (const v of ex.ids) expect(v >= 0 && v < task.vocabSize).toBe(true);
        if (level !== undefined) expect(ex.pairs).toBe(level);
        // The trainer reads targets ≥ 0 in position order as the rows of Example.queries.
        const lossAt = Array.from(ex.targets.keys()).filter((t) => ex.targets[t] >= 0);
        expect(ex.queries.map((q) => q.pos)).toEqual(lossAt);
        expect(ex.queries.length).toBeLessThanOrEqual(task.maxTargets);
        for (const q of ex.queries) {
          expect(ex.targets[q.pos]).toBe(q.value);
          expect(q.value > 0 && q.value < task.vocabSize).toBe(true);
          expect(q.distance).toBe(q.pos - q.keyPos);
          expect(q.keyPos >= 0 && q.keyPos < q.pos).toBe(true);
        }
        expect(ex.queries.map((q) => q.value)).toEqual(oracleFor(name)(ex));
      }),
      { numRuns: 40 },
    );
  });

  it('is deterministic for a seed and differs across seeds', () => {
    fc.assert(
      fc.property(seed, (s) => {
        const a = task.sample(new Rng(s));
        const b = task.sample(new Rng(s));
        expect(b.ids).toEqual(a.ids);
        expect(b.targets).toEqual(a.targets);
        expect(b.queries).toEqual(a.queries);
        expect(task.sample(new Rng(s + 1)).ids).not.toEqual(a.ids);
      }),
      { numRuns: 10 },
    );
  });

  it('fits the zoo (vocab 512) and at most 512 positions; each default level is valid', () => {
    expect(task.vocabSize).toBeLessThanOrEqual(512);
    expect(task.seqLen).toBeLessThanOrEqual(512);
    expect(levels.length).toBeGreaterThan(0);
    // The card's engine check answers 16 at level 16: every task accepts it.
    expect(task.sample(new Rng(1), 16).pairs).toBe(16);
  });
});

// ---------------------------------------------------------------- task by task

describe('mqar-512', () => {
  const task = taskByName('mqar-512') as MqarTask;

  it("is Zoology's layout at 512 tokens: keys 1..255, values 256..511, blanks 0 outside pairs and queries", () => {
    fc.assert(
      fc.property(seed, fc.integer({ min: 16, max: 64 }), (s, pairs) => {
        const ex = task.sample(new Rng(s), pairs);
        const keys = new Set<number>();
        for (let j = 0; j < pairs; j++) {
          expect(ex.ids[2 * j] >= 1 && ex.ids[2 * j] < 256).toBe(true);
          expect(ex.ids[2 * j + 1] >= 256 && ex.ids[2 * j + 1] < 512).toBe(true);
          keys.add(ex.ids[2 * j]);
        }
        expect(keys.size).toBe(pairs);
        expect(new Set(ex.queries.map((q) => q.key))).toEqual(keys);
        const queryPos = new Set(ex.queries.map((q) => q.pos));
        for (let t = 2 * pairs; t < 512; t++) if (!queryPos.has(t)) expect(ex.ids[t]).toBe(0);
      }),
      { numRuns: 30 },
    );
  });

  it('puts most keys beyond a 32-token window, and more so with more pairs', () => {
    const beyond = (pairs: number) => {
      let far = 0;
      let all = 0;
      const rng = new Rng(11);
      for (let i = 0; i < 200; i++)
        for (const q of task.sample(rng, pairs).queries) {
          all++;
          if (q.distance >= 32) far++;
        }
      return far / all;
    };
    // A key j of n sits 2(n − j) + 2·gap before its query: only the last keys with short gaps fall inside.
    expect(beyond(16)).toBeGreaterThan(0.5);
    expect(beyond(64)).toBeGreaterThan(0.9);
    expect(beyond(64)).toBeGreaterThan(beyond(16));
  });

  it('trains on 16–64 pairs; Zoology’s V > L assertion stays on for MQAR-128', () => {
    expect(task.pairs).toEqual([16, 64]);
    expect(task.info).toMatchObject({ name: 'mqar-512', seq_len: 512, keys: [1, 256], values: [256, 512] });
    expect(() => new MqarTask({ seqLen: 512 })).toThrow(/vocab_size > seq_len/);
    expect(() => new MqarTask({ ...MQAR_512, evalLevels: [129] })).toThrow(TaskError);
  });
});

describe('copy-512', () => {
  const task = taskByName('copy-512') as SelectiveCopyTask;

  it('scatters 8–32 data tokens (1..14) among blanks, then as many markers (15) as tokens', () => {
    fc.assert(
      fc.property(seed, (s) => {
        const ex = task.sample(new Rng(s));
        const m = ex.pairs;
        expect(m >= 8 && m <= 32).toBe(true);
        expect(Array.from(ex.ids.subarray(512 - m))).toEqual(Array(m).fill(15));
        const data = Array.from(ex.ids.subarray(0, 512 - m)).filter((v) => v !== 0);
        expect(data.length).toBe(m);
        for (const v of data) expect(v >= 1 && v <= 14).toBe(true);
        // order axis: the i-th copied token is in quarter ⌊4i/m⌋ + 1
        ex.queries.forEach((q, i) => expect(q.axes?.order).toBe(`${Math.floor((4 * i) / m) + 1}/4`));
      }),
      { numRuns: 30 },
    );
    expect(task.info).toMatchObject({ name: 'copy-512', blank: 0, data: [1, 15], marker: 15, train_tokens: [8, 32] });
    expect(() => new SelectiveCopyTask({ ...COPY_512, trainTokens: [30, 8] })).toThrow(TaskError);
    expect(() => new SelectiveCopyTask({ ...COPY_512, evalLevels: [300] })).toThrow(TaskError);
  });

  it('asks for most tokens from beyond 128 tokens back', () => {
    let far = 0;
    let all = 0;
    const rng = new Rng(5);
    for (let i = 0; i < 100; i++)
      for (const q of task.sample(rng, 16).queries) {
        all++;
        if (q.distance > 128) far++;
      }
    expect(far / all).toBeGreaterThan(0.7);
  });
});

describe('majority-512', () => {
  const task = taskByName('majority-512') as MajorityTask;

  it('scatters 64–128 class tokens among distractors, keeps the last 128 before the marker free of them, one winner', () => {
    fc.assert(
      fc.property(seed, fc.integer({ min: 2, max: 16 }), (s, k) => {
        const ex = task.sample(new Rng(s), k);
        expect(ex.ids[511]).toBe(MAJORITY_LAYOUT.marker);
        const counts = majorityCounts(ex);
        const evidence = counts.reduce((a, b) => a + b, 0);
        expect(evidence >= 64 && evidence <= 128).toBe(true);
        for (let c = k + 1; c <= 16; c++) expect(counts[c]).toBe(0);
        const top = Math.max(...counts);
        expect(counts.filter((c) => c === top).length).toBe(1);
        for (let t = 0; t < 511; t++) {
          const v = ex.ids[t];
          const isClass = v >= 1 && v <= k;
          expect(isClass || (v >= 32 && v < 511)).toBe(true);
          if (t >= 511 - 128) expect(isClass).toBe(false);
        }
        const runnerUp = counts.slice().sort((a, b) => b - a)[1];
        const [q] = ex.queries;
        expect(q.pos).toBe(511);
        expect(q.distance).toBeGreaterThan(128);
        expect(q.axes).toEqual({ classes: String(k), margin: marginBucket(top - runnerUp) });
      }),
      { numRuns: 60 },
    );
  });

  it('buckets the margin as 1, 2, 3-4, 5-8, 9+', () => {
    expect([1, 2, 3, 4, 5, 8, 9, 40].map(marginBucket)).toEqual(['1', '2', '3-4', '3-4', '5-8', '5-8', '9+', '9+']);
  });

  it('rejects impossible settings with TaskError', () => {
    expect(() => majorityExample(new Rng(0), 1)).toThrow(TaskError);
    expect(() => majorityExample(new Rng(0), 17)).toThrow(TaskError);
    expect(() => majorityExample(new Rng(0), 4, 512, [64, 400], 128)).toThrow(/evidence/);
    expect(() => new MajorityTask({ classes: [8, 2] })).toThrow(TaskError);
    expect(task.info).toMatchObject({ marker: 511, distractors: [32, 511], quiet: 128, evidence: [64, 128] });
  });
});

describe('mix-512', () => {
  const task = taskByName('mix-512') as MixTask;

  it('draws each example from one of mqar-512, copy-512, majority-512 (about a third each) and labels its answers', () => {
    const seen = new Map<string, number>();
    const rng = new Rng(8);
    for (let i = 0; i < 600; i++) {
      const ex = task.sample(rng);
      const names = new Set(ex.queries.map((q) => q.axes?.task));
      expect(names.size).toBe(1);
      const [name] = names as Set<string>;
      seen.set(name, (seen.get(name) ?? 0) + 1);
      // What the component is, from the ids alone: majority has no blank, copying ends in its marker (15).
      const kind = !ex.ids.includes(0) ? 'majority-512' : ex.ids[511] === 15 ? 'copy-512' : 'mqar-512';
      expect(name).toBe(kind);
    }
    expect([...seen.keys()].sort()).toEqual(['copy-512', 'majority-512', 'mqar-512']);
    for (const n of seen.values()) expect(Math.abs(n / 600 - 1 / 3)).toBeLessThan(0.06);
    expect(task.maxTargets).toBe(64);
    expect(task.vocabSize).toBe(512);
  });

  it('refuses tasks of different lengths and levels a component cannot take', () => {
    expect(() => new MixTask('bad', [taskByName('mqar'), taskByName('mqar-512')])).toThrow(/equal sequence lengths/);
    expect(() => new MixTask('bad', [taskByName('mqar-512'), taskByName('majority-512')], [32])).toThrow(TaskError);
  });
});

// ---------------------------------------------------------------- the evaluator

function examples(name: string, level: number, n: number, s = 3): Example[] {
  const task = taskByName(name);
  const rng = new Rng(s);
  return Array.from({ length: n }, () => task.sample(rng, level));
}

describe('evaluator (RecallScore with the tasks’ axes)', () => {
  it.each([
    ['mqar-512', 32],
    ['copy-512', 16],
    ['majority-512', 8],
  ] as const)('%s: the oracle scores 100 % overall, in every distance bucket and on every axis', (name, level) => {
    const score = new RecallScore();
    const exs = examples(name, level, 50);
    for (const ex of exs) score.add(ex, oracleFor(name)(ex));
    expect(score.accuracy()).toBe(1);
    const t = score.table();
    expect(t.queries).toBe(exs.reduce((s, ex) => s + ex.queries.length, 0));
    for (const v of Object.values(t.by_distance)) expect(v.accuracy).toBe(1);
    for (const axis of Object.values(t.by_axis)) {
      expect(Object.values(axis).reduce((s, v) => s + v.queries, 0)).toBe(t.queries);
      for (const v of Object.values(axis)) expect(v.accuracy).toBe(1);
    }
  });

  it('mix-512: a predictor right only on copying scores 1 on that task and 0 on the others, by the task axis', () => {
    const exs = examples('mix-512', 16, 120);
    const score = new RecallScore();
    for (const ex of exs) {
      const copy = ex.queries[0].axes!.task === 'copy-512';
      score.add(ex, copy ? oracleFor('copy-512')(ex) : ex.queries.map(() => 0));
    }
    const byTask = score.axisTable('task');
    expect(byTask['copy-512'].accuracy).toBe(1);
    expect(byTask['mqar-512'].accuracy).toBe(0);
    expect(byTask['majority-512'].accuracy).toBe(0);
    expect(byTask['copy-512'].queries).toBe(16 * exs.filter((ex) => ex.ids[511] === 15).length);
  });

  it('majority: a constant guess scores the share of sequences that class wins, ≈ 1/classes', () => {
    for (const k of [2, 4, 8, 16]) {
      const exs = examples('majority-512', k, 1500, 100 + k);
      const score = new RecallScore();
      for (const ex of exs) score.add(ex, [1]);
      const wins = exs.filter((ex) => majorityOracle(ex)[0] === 1).length;
      expect(score.accuracy()).toBe(wins / exs.length);
      const se = Math.sqrt(((1 / k) * (1 - 1 / k)) / exs.length);
      expect(Math.abs(score.accuracy() - 1 / k)).toBeLessThan(4 * se);
      expect(score.axisTable('classes')).toEqual({ [String(k)]: { accuracy: wins / exs.length, queries: exs.length } });
    }
  });

  it('copy-512: a constant guess scores the share of copied tokens equal to it, ≈ 1/14', () => {
    const exs = examples('copy-512', 16, 400);
    const score = new RecallScore();
    for (const ex of exs) score.add(ex, Array(ex.queries.length).fill(7));
    const sevens = exs.flatMap((ex) => copyOracle(ex, 15)).filter((v) => v === 7).length;
    expect(score.accuracy()).toBe(sevens / (400 * 16));
    expect(Math.abs(score.accuracy() - 1 / 14)).toBeLessThan(4 * Math.sqrt(((1 / 14) * (13 / 14)) / 6400));
  });

  it('mqar-512: a predictor that sees only 32 tokens back scores 100 % inside and 0 % beyond, by distance', () => {
    const exs = examples('mqar-512', 32, 100);
    const score = new RecallScore();
    // Answers right when the key is within 32 tokens, else a value from the context that is wrong.
    for (const ex of exs)
      score.add(
        ex,
        ex.queries.map((q, i) => (q.distance < 32 ? mqarOracle(ex)[i] : 0)),
      );
    const near = exs.flatMap((ex) => ex.queries).filter((q) => q.distance < 32).length;
    const all = exs.length * 32;
    expect(score.accuracy()).toBe(near / all);
    const t = score.distanceTable();
    for (const [bucket, v] of Object.entries(t)) expect(v.accuracy).toBe(['0-16', '16-32'].includes(bucket) ? 1 : 0);
    expect(Object.keys(t)).toEqual(expect.arrayContaining(['32-64', '64-128', '128-256']));
  });

  it('majority: a predictor right only at margin ≥ 5 scores 0 on the small-margin rows and 1 on the rest', () => {
    const exs = examples('majority-512', 4, 300);
    const score = new RecallScore();
    for (const ex of exs) {
      const counts = majorityCounts(ex).sort((a, b) => b - a);
      score.add(ex, counts[0] - counts[1] >= 5 ? majorityOracle(ex) : [0]);
    }
    const margin = score.axisTable('margin');
    expect(Object.keys(margin)).toEqual(['1', '2', '3-4', '5-8', '9+'].filter((k) => k in margin));
    for (const [k, v] of Object.entries(margin)) expect(v.accuracy).toBe(['5-8', '9+'].includes(k) ? 1 : 0);
    expect(Object.values(margin).reduce((s, v) => s + v.queries, 0)).toBe(300);
  });
});

// ---------------------------------------------------------------- the synthetic zoo's 256-token twins

describe('the 256-token twins (the length the synthetic zoo trained at)', () => {
  it('keep the 512 tasks’ layouts at 256 positions, and the majority answer still lies beyond 4 windowed layers of 32', () => {
    expect(taskByName('mqar-256').info).toMatchObject({ name: 'mqar-256', seq_len: 256, keys: [1, 256], values: [256, 512] });
    expect(taskByName('copy-256').info).toMatchObject({ name: 'copy-256', seq_len: 256, marker: 15, train_tokens: [8, 24] });
    expect(taskByName('majority-256').info).toMatchObject({ name: 'majority-256', seq_len: 256, evidence: [32, 64], quiet: 128 });
    fc.assert(
      fc.property(seed, fc.constantFrom(2, 4, 8, 16), (s, k) => {
        const ex = taskByName('majority-256').sample(new Rng(s), k);
        const lastClass = Array.from(ex.ids).findLastIndex((v) => v >= 1 && v <= 16);
        expect(ex.queries[0].pos - lastClass).toBeGreaterThan(4 * 31);
      }),
      { numRuns: 40 },
    );
  });

  it('mix-256 draws from all three and labels each answer with its 256-token task', () => {
    const seen = new Set(examples('mix-256', 16, 60).map((ex) => ex.queries[0].axes!.task));
    expect([...seen].sort()).toEqual(['copy-256', 'majority-256', 'mqar-256']);
  });
});

// ---------------------------------------------------------------- the synthetic zoo's 128-token tasks

describe('the 128-token tasks (what the synthetic zoo trains on: mix-128)', () => {
  it('majority-128: the answer lies beyond what 4 windowed layers of 16 can reach, and the oracle recomputes it', () => {
    expect(taskByName('majority-128').info).toMatchObject({ name: 'majority-128', seq_len: 128, evidence: [16, 48], quiet: 64 });
    fc.assert(
      fc.property(seed, fc.constantFrom(2, 4, 8), (s, k) => {
        const ex = taskByName('majority-128').sample(new Rng(s), k);
        const lastClass = Array.from(ex.ids).findLastIndex((v) => v >= 1 && v <= 16);
        expect(ex.queries[0].pos - lastClass).toBeGreaterThan(4 * 15);
        expect(ex.queries[0].distance).toBe(ex.queries[0].pos - lastClass);
        expect(majorityOracle(ex)).toEqual([ex.targets[ex.queries[0].pos]]);
        expect(Math.max(...Array.from(ex.ids).filter((v) => v >= 1 && v <= 16))).toBeLessThanOrEqual(k);
      }),
      { numRuns: 60 },
    );
  });

  it('mix-128 draws from mqar, copy and majority-128 and labels each answer with its task', () => {
    const seen = new Set(examples('mix-128', 8, 80).map((ex) => ex.queries[0].axes!.task));
    expect([...seen].sort()).toEqual(['copy', 'majority-128', 'mqar']);
  });
});
