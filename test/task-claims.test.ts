// engine/analysis/task-claims.ts: the synthetic zoo's cross-seed claims summary and the card's claims block, fed
// real per-seed Claims records (the shipped cards' claims.seeds) with a few fields set to chosen values, so each
// expected mean / min / max is worked out by hand here, not by the code under test.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClaimsError, type Claims } from '../engine/analysis/claims.ts';
import { TASK_CLAIMS_VERSION, taskClaimsBlock, taskClaimsSummary } from '../engine/analysis/task-claims.ts';
import { repoRoot } from './paths.ts';

type CardSeed = { seed: number; shipped: boolean } & Claims;

/** Every seed's Claims record from a shipped card, without the block's seed / shipped marks. */
function seedClaims(name: string): Claims[] {
  const card = JSON.parse(readFileSync(path.join(repoRoot, 'models', name, 'card.json'), 'utf8')) as { claims: { seeds: CardSeed[] } };
  return card.claims.seeds.map(({ seed: _seed, shipped: _shipped, ...claims }) => claims as Claims);
}

/** Three independent copies of one real record, to set fields on. */
const threeCopies = (c: Claims): Claims[] => [0, 1, 2].map(() => structuredClone(c));

const task = (c: Claims, name: string) => c.ablations.find((a) => a.task === name)!;
const result = (c: Claims, name: string, id: string) => task(c, name).results.find((r) => r.id === id)!;
const allRows = (c: Claims) => c.attention.find((a) => a.rows === 'all')!;

describe('taskClaimsSummary', () => {
  it('gives mean, min, max and every seed of each task number, in seed order', () => {
    const seeds = threeCopies(seedClaims('hymba')[0]);
    [0.5, 0.6, 0.9].forEach((v, i) => (task(seeds[i], 'copy').baseline = v));
    [0.4, 0.1, 0.7].forEach((v, i) => (result(seeds[i], 'copy', 'attn@0').drop = v));
    [0.1, 0.5, 0.2].forEach((v, i) => (result(seeds[i], 'copy', 'ssm@*').accuracy = v));
    const carriers = ['both', 'attention', 'neither'] as const;
    carriers.forEach((v, i) => (task(seeds[i], 'copy').carried_by = v));

    const copy = taskClaimsSummary(seeds).tasks.copy;
    expect(copy.baseline).toEqual({ mean: 0.6667, min: 0.5, max: 0.9, seeds: [0.5, 0.6, 0.9] });
    expect(copy.drop['attn@0']).toEqual({ mean: 0.4, min: 0.1, max: 0.7, seeds: [0.4, 0.1, 0.7] });
    expect(copy.accuracy['ssm@*']).toEqual({ mean: 0.2667, min: 0.1, max: 0.5, seeds: [0.1, 0.5, 0.2] });
    expect(copy.carried_by).toEqual([...carriers]);
  });

  it('has one entry per task and per ablation of the records, and nothing else', () => {
    const seeds = seedClaims('hymba');
    const summary = taskClaimsSummary(seeds);
    expect(Object.keys(summary.tasks)).toEqual(seeds[0].ablations.map((a) => a.task));
    for (const a of seeds[0].ablations) {
      const ids = a.results.map((r) => r.id);
      expect(Object.keys(summary.tasks[a.task].drop)).toEqual(ids);
      expect(Object.keys(summary.tasks[a.task].accuracy)).toEqual(ids);
      // Each seed's carried_by is its own record's, in the records' order.
      expect(summary.tasks[a.task].carried_by).toEqual(seeds.map((c) => task(c, a.task).carried_by));
    }
  });

  it('summarises attention over the first task’s "all" rows, with the entropy change meta tokens make', () => {
    const seeds = threeCopies(seedClaims('hymba')[0]);
    const withMeta = [2.0, 2.5, 3.0];
    const without = [2.5, 2.5, 2.0];
    seeds.forEach((c, i) => {
      const a = allRows(c);
      a.with_meta!.mean.entropy = withMeta[i];
      a.without_meta.mean.entropy = without[i];
      a.with_meta!.mean.meta = [0.1, 0.2, 0.3][i];
      a.without_meta.mean.first = [0.05, 0.01, 0.03][i];
    });
    const { attention } = taskClaimsSummary(seeds);
    expect(attention!.prompts).toBe(allRows(seeds[0]).prompts);
    expect(attention!.prompts).toBe(`task:${seeds[0].ablations[0].task}`);
    expect(attention!.with_meta!.entropy).toEqual({ mean: 2.5, min: 2, max: 3, seeds: withMeta });
    expect(attention!.without_meta.entropy).toEqual({ mean: 2.3333, min: 2, max: 2.5, seeds: without });
    // with − without: −0.5, 0, +1.
    expect(attention!.entropy_change).toEqual({ mean: 0.1667, min: -0.5, max: 1, seeds: [-0.5, 0, 1] });
    expect(attention!.with_meta!.meta).toEqual({ mean: 0.2, min: 0.1, max: 0.3, seeds: [0.1, 0.2, 0.3] });
    expect(attention!.without_meta.first).toEqual({ mean: 0.03, min: 0.01, max: 0.05, seeds: [0.05, 0.01, 0.03] });
  });

  it('takes the median slowest-state half-life per SSM layer, and the branch ratio as a mean over hybrid layers', () => {
    const seeds = threeCopies(seedClaims('hymba')[0]);
    [10, 20, 60].forEach((v, i) => (seeds[i].ssm_half_life[0].layers[1].slowest_state.median = v));
    // Raw ratios per layer 0..3; each seed's ratio is the mean over its 4 hybrid layers.
    const raw = [
      [1, 2, 3, 4], // 2.5
      [1, 1, 1, 1], // 1
      [4, 4, 4, 8], // 5
    ];
    seeds.forEach((c, i) => c.branch_magnitude[0].layers.forEach((l, k) => (l.ratio_raw = raw[i][k])));
    const summary = taskClaimsSummary(seeds);
    expect(Object.keys(summary.half_life!)).toEqual(['0', '1', '2', '3']);
    expect(summary.half_life!['1']).toEqual({ mean: 30, min: 10, max: 60, seeds: [10, 20, 60] });
    expect(summary.ratio_raw).toEqual({ mean: 2.8333, min: 1, max: 5, seeds: [2.5, 1, 5] });
    // The other measures (branch_magnitude[1], ssm_half_life[1]: the other tasks' prompts) are not read.
    seeds[0].branch_magnitude[1].layers[0].ratio_raw = 1_000;
    seeds[0].ssm_half_life[1].layers[1].slowest_state.median = 1_000;
    expect(taskClaimsSummary(seeds).ratio_raw!.max).toBe(5);
    expect(taskClaimsSummary(seeds).half_life!['1'].max).toBe(60);
  });

  it('leaves out what a model does not have: attention and ratios for the SSM-only model, SSM for the Transformer', () => {
    const ssm = taskClaimsSummary(seedClaims('ssm'));
    expect(ssm.attention).toBeUndefined();
    expect(ssm.ratio_raw).toBeUndefined();
    expect(ssm.ratio_fused).toBeUndefined();
    expect(Object.keys(ssm.half_life!)).toEqual(['0', '1', '2', '3']);

    const attention = taskClaimsSummary(seedClaims('attention'));
    expect(attention.half_life).toBeUndefined();
    expect(attention.ratio_raw).toBeUndefined();
    // No meta tokens: attention without them only.
    expect(attention.attention!.with_meta).toBeUndefined();
    expect(attention.attention!.entropy_change).toBeUndefined();

    // sequential: attention and SSM in alternate layers, never both in one, so no branch ratio.
    const sequential = taskClaimsSummary(seedClaims('sequential'));
    expect(Object.keys(sequential.half_life!)).toEqual(['0', '2']);
    expect(sequential.ratio_raw).toBeUndefined();
  });

  it('rejects no seeds, and a seed that lacks one of the first seed’s tasks, with a ClaimsError', () => {
    expect(() => taskClaimsSummary([])).toThrow(ClaimsError);
    expect(() => taskClaimsSummary([])).toThrow(/no seeds/);
    const seeds = threeCopies(seedClaims('hymba')[0]);
    seeds[2].ablations = seeds[2].ablations.filter((a) => a.task !== 'copy');
    expect(() => taskClaimsSummary(seeds)).toThrow(/a seed has no ablations for task copy/);
  });
});

describe('taskClaimsBlock', () => {
  it('sorts the seeds, marks the shipped one and summarises them in that order', () => {
    const [a, b, c] = seedClaims('hymba');
    const block = taskClaimsBlock(
      [
        { seed: 3, shipped: false, claims: c },
        { seed: 1, shipped: true, claims: a },
        { seed: 2, shipped: false, claims: b },
      ],
      'seed 1 ships',
    );
    expect(block.version).toBe(TASK_CLAIMS_VERSION);
    expect(block.weights).toBe('seed 1 ships');
    expect(block.seeds.map((s) => [s.seed, s.shipped])).toEqual([
      [1, true],
      [2, false],
      [3, false],
    ]);
    // Each seed entry is its record with the marks added.
    expect(block.seeds[2]).toEqual({ seed: 3, shipped: false, ...c });
    const baselines = [a, b, c].map((x) => task(x, 'copy').baseline);
    expect(block.summary.tasks.copy.baseline.seeds).toEqual(baselines);
    expect(block.summary.tasks.copy.baseline.min).toBe(Math.min(...baselines));
    expect(block.summary.tasks.copy.baseline.max).toBe(Math.max(...baselines));
    expect(block.summary.tasks.copy.baseline.mean).toBeCloseTo(baselines.reduce((x, y) => x + y, 0) / 3, 4);
    expect(JSON.parse(JSON.stringify(block))).toEqual(block);
  });

  it('refuses a block whose shipped seed was not measured', () => {
    const [a] = seedClaims('hymba');
    expect(() => taskClaimsBlock([{ seed: 2, shipped: false, claims: a }], 'seed 1 ships')).toThrow(
      /the shipped seed is not among the measured ones/,
    );
  });
});
