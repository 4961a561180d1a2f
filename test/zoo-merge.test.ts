// engine/train/zoo-merge.node.ts, run as the CLI it is on a temp IN folder of per-seed folders (NAME.sSEED/, as a
// bulk training run leaves them) built from copies of the shipped models: the merged card's seeds, spread and
// claims, seed 1's weights, and what happens to claims when the seeds carry none.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Claims } from '../engine/analysis/claims.ts';
import { repoRoot } from './paths.ts';

type Card = Record<string, unknown> & {
  metrics: Record<string, number>;
  training: Record<string, unknown>;
  seeds?: Array<{ seed: number; metrics: Record<string, number>; final_loss: number }>;
  spread?: Record<string, { mean: number; min: number; max: number }>;
  claims?: {
    seeds: Array<{ seed: number; shipped: boolean } & Claims>;
    summary: { tasks: Record<string, { baseline: { seeds: number[] } }> };
  };
};

const tmp = mkdtempSync(path.join(os.tmpdir(), 'hymba-zoo-merge-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const shippedCard = (name: string): Card => JSON.parse(readFileSync(path.join(repoRoot, 'models', name, 'card.json'), 'utf8')) as Card;
const readJson = (file: string): Card => JSON.parse(readFileSync(file, 'utf8')) as Card;

/** Each seed's own numbers, chosen so the spread is worked out by hand below. */
const METRICS: Record<number, Record<string, number>> = {
  1: { mqar: 0.1, copy: 0.5, majority: 1 },
  2: { mqar: 0.3, copy: 0.6, majority: 0.5 },
  3: { mqar: 0.2, copy: 0.9, majority: 0.75 },
};

/**
 * IN/NAME.sSEED/ for each seed, as a training run writes it: the shipped folder's config, a card with that seed's
 * metrics, loss and (for a synthetic model, unless `claims` is false for it) the shipped card's per-seed claims
 * record, and weights that are the shipped ones for seed 1 only.
 */
function seedFolders(dir: string, name: string, seeds: number[], claims: (seed: number) => boolean = () => true): void {
  const shipped = shippedCard(name);
  const { seeds: _s, spread: _sp, claims: block, shipped_seed: _ss, ...base } = shipped;
  for (const seed of seeds) {
    const out = path.join(dir, `${name}.s${seed}`);
    mkdirSync(out, { recursive: true });
    copyFileSync(path.join(repoRoot, 'models', name, 'config.json'), path.join(out, 'config.json'));
    if (seed === 1) copyFileSync(path.join(repoRoot, 'models', name, 'model.safetensors'), path.join(out, 'model.safetensors'));
    else writeFileSync(path.join(out, 'model.safetensors'), `not the shipped weights: seed ${seed}`);
    const record = block?.seeds.find((s) => s.seed === seed);
    const card = {
      ...base,
      metrics: METRICS[seed],
      training: { ...shipped.training, seed, final_loss: 2 + seed / 10 },
      ...(record && claims(seed) ? { claims: withoutMarks(record) } : {}),
    };
    writeFileSync(path.join(out, 'card.json'), JSON.stringify(card));
  }
}

function withoutMarks(s: { seed: number; shipped: boolean } & Claims): Claims {
  const { seed: _seed, shipped: _shipped, ...claims } = s;
  return claims as Claims;
}

function merge(inDir: string, outDir: string, ...names: string[]) {
  const r = spawnSync(process.execPath, ['--no-warnings', 'engine/train/zoo-merge.node.ts', inDir, outDir, ...names], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('zoo-merge on the seed folders of models/hymba', () => {
  const inDir = path.join(tmp, 'in');
  const outDir = path.join(tmp, 'out');
  let r: ReturnType<typeof merge>;
  let merged: Card | null;
  beforeAll(() => {
    seedFolders(inDir, 'hymba', [1, 2, 3]);
    r = merge(inDir, outDir, 'hymba');
    merged = existsSync(path.join(outDir, 'hymba', 'card.json')) ? readJson(path.join(outDir, 'hymba', 'card.json')) : null;
  });

  it('writes one folder with seed 1’s config and weights', () => {
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^hymba: seeds 1, 2, 3 → /);
    expect(merged).not.toBeNull();
    for (const f of ['config.json', 'model.safetensors']) {
      expect(readFileSync(path.join(outDir, 'hymba', f)).equals(readFileSync(path.join(repoRoot, 'models', 'hymba', f))), f).toBe(true);
    }
  });

  it('records every seed’s metrics and loss, seed 1 as the card’s own', () => {
    expect(merged!.shipped_seed).toBe(1);
    expect(merged!.metrics).toEqual(METRICS[1]);
    expect(merged!.training.seed).toBe(1);
    expect(merged!.seeds!.map((s) => [s.seed, s.metrics, s.final_loss])).toEqual([
      [1, METRICS[1], 2.1],
      [2, METRICS[2], 2.2],
      [3, METRICS[3], 2.3],
    ]);
  });

  it('gives each metric’s mean, min and max over the seeds', () => {
    expect(merged!.spread).toEqual({
      mqar: { mean: 0.2, min: 0.1, max: 0.3 },
      copy: { mean: 0.6667, min: 0.5, max: 0.9 },
      majority: { mean: 0.75, min: 0.5, max: 1 },
    });
  });

  it('builds the claims block from every seed’s record, seed 1 marked as shipped', () => {
    const records = shippedCard('hymba').claims!.seeds;
    const claims = merged!.claims!;
    expect(claims.seeds.map((s) => [s.seed, s.shipped])).toEqual([
      [1, true],
      [2, false],
      [3, false],
    ]);
    expect(claims.seeds[1]).toEqual({ seed: 2, shipped: false, ...withoutMarks(records[1]) });
    const copyBaselines = records.map((s) => s.ablations.find((a) => a.task === 'copy')!.baseline);
    expect(claims.summary.tasks.copy.baseline.seeds).toEqual(copyBaselines);
  });
});

describe('zoo-merge: claims where the seeds carry none', () => {
  it('an English card keeps the claims block already in OUT (measured after the merge)', () => {
    const inDir = path.join(tmp, 'en-in');
    const outDir = path.join(tmp, 'en-out');
    // A training run writes no claims into an English seed's card (they are measured after the merge).
    seedFolders(inDir, 'en-hymba', [1, 2, 3], () => false);
    const old = shippedCard('en-hymba');
    expect(old.claims).toBeDefined();
    mkdirSync(path.join(outDir, 'en-hymba'), { recursive: true });
    writeFileSync(path.join(outDir, 'en-hymba', 'card.json'), JSON.stringify(old));
    const r = merge(inDir, outDir, 'en-hymba');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const merged = readJson(path.join(outDir, 'en-hymba', 'card.json'));
    expect(merged.claims).toEqual(old.claims);
    expect(merged.seeds!.map((s) => s.seed)).toEqual([1, 2, 3]);
  });

  it('a synthetic card gets none when a seed has no record, even over an old block in OUT', () => {
    const inDir = path.join(tmp, 'partial-in');
    const outDir = path.join(tmp, 'partial-out');
    // Seed 1 has its record, seed 3 none; seed 2 was never trained.
    seedFolders(inDir, 'hymba', [1, 3], (seed) => seed === 1);
    mkdirSync(path.join(outDir, 'hymba'), { recursive: true });
    writeFileSync(path.join(outDir, 'hymba', 'card.json'), JSON.stringify(shippedCard('hymba')));
    const r = merge(inDir, outDir, 'hymba');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^hymba: seeds 1, 3 → /);
    const merged = readJson(path.join(outDir, 'hymba', 'card.json'));
    expect(merged.seeds!.map((s) => s.seed)).toEqual([1, 3]);
    expect(merged.spread!.copy).toEqual({ mean: 0.7, min: 0.5, max: 0.9 });
    expect(merged).not.toHaveProperty('claims');
  });

  it('skips a model without seed 1 and writes nothing for it', () => {
    const inDir = path.join(tmp, 'no-seed-1-in');
    const outDir = path.join(tmp, 'no-seed-1-out');
    seedFolders(inDir, 'swa', [2, 3]);
    const r = merge(inDir, outDir, 'swa');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^swa: no seed 1 in .*, skipped/);
    expect(existsSync(path.join(outDir, 'swa'))).toBe(false);
  });
});
