// engine/analysis/claims.ts on the trained zoo (CPU reference engine, small samples): the ablation the issue reports
// (layer 0's attention carries MQAR in `hymba-conv`; nothing carries it in `hymba`, which never learned it), a
// record whose numbers are consistent, a half-life recomputed by hand from the checkpoint, and the CLI. Needs the
// trained zoo in models/: fails, never skips, when it is missing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { folderFiles } from '../engine/checkpoint/folder.node.ts';
import { loadCheckpoint, type Checkpoint } from '../engine/checkpoint/load.ts';
import { CpuEngine } from '../engine/cpu/forward.ts';
import {
  ablationPlan,
  checkpointClaims,
  checkpointWeights,
  ClaimsError,
  measureClaims,
  quartiles,
  type Claims,
} from '../engine/analysis/claims.ts';
import { MqarTask } from '../engine/tasks/mqar.ts';
import { SelectiveCopyTask } from '../engine/tasks/selective-copy.ts';
import { repoRoot } from './paths.ts';

const load = (name: string): Promise<Checkpoint> => loadCheckpoint(folderFiles(path.join(repoRoot, 'models', name)));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'hymba-claims-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type CardClaims = { claims: { seeds: Array<{ seed: number; shipped: boolean } & Claims> } };
/** The shipped seed's claims record in a model's card (measured on the GPU after training, on other sequences). */
const cardClaims = (name: string): Claims =>
  (JSON.parse(readFileSync(path.join(repoRoot, 'models', name, 'card.json'), 'utf8')) as CardClaims).claims.seeds.find((s) => s.shipped)!;

// hymba-conv (Hymba plus the width-2 Q/K/V conv) is the hybrid that learned MQAR-128 (docs/zoo.md, the conv finding).
describe('claims on models/hymba-conv', () => {
  let ck: Checkpoint;
  let claims: Claims;
  beforeAll(async () => {
    ck = await load('hymba-conv');
    claims = await checkpointClaims(ck, { tasks: [new MqarTask(), new SelectiveCopyTask()], n: 10, statsN: 3, seed: 2_024 });
  });

  it('switching off layer 0 attention costs MQAR most of its accuracy (the issue: ~100 points)', () => {
    const mqar = claims.ablations[0];
    expect(mqar.task).toBe('mqar');
    expect(mqar.pairs).toBe(16);
    expect(mqar.queries).toBe(10 * 16);
    expect(mqar.baseline).toBeGreaterThanOrEqual(0.9);
    const attn0 = mqar.results.find((r) => r.id === 'attn@0')!;
    expect(attn0.drop).toBeGreaterThan(0.8);
    expect(attn0.significant).toBe(true);
    expect(mqar.critical[0]).toBe('attn@0');
    expect(['attention', 'both']).toContain(mqar.carried_by);
    // Layer 0's attention alone (every other attention branch off) keeps most of the recall; any other layer's alone
    // loses it.
    const drop = (id: string) => mqar.results.find((r) => r.id === id)!.drop;
    expect(drop('attn-only@0')).toBeLessThan(0.25);
    for (const id of ['attn-only@1', 'attn-only@2', 'attn-only@3']) expect(drop(id), id).toBeGreaterThan(0.8);
    // The meta tokens cost nothing here.
    expect(mqar.results.find((r) => r.id === 'meta-off')!.significant).toBe(false);
  });

  it('says selective copying is carried by both branches: layer 0 attention first, then layer 0 SSM', () => {
    const copy = claims.ablations[1];
    expect(copy.task).toBe('copy');
    expect(copy.baseline).toBeGreaterThan(0.4); // chance ~7 %
    expect(copy.carried_by).toBe('both');
    expect(copy.critical[0]).toBe('attn@0');
    expect(copy.critical).toContain('ssm@0');
    expect(copy.results.find((r) => r.id === 'ssm@*')!.significant).toBe(true);
  });

  it('records its sample sizes and seed, and is plain JSON', () => {
    expect(claims.settings).toMatchObject({
      n: 10,
      stats_n: 3,
      seed: 2_024,
      tasks: [
        { name: 'mqar', pairs: 16 },
        { name: 'copy', pairs: 16 },
      ],
    });
    expect(claims.settings.prompt_sets).toEqual([
      { name: 'task:mqar', sequences: 3 },
      { name: 'task:copy', sequences: 3 },
    ]);
    expect(JSON.parse(JSON.stringify(claims))).toEqual(claims);
    expect(claims.model).toEqual({ layers: 4, meta_tokens: 8, sliding_window: 16, global_layers: [0, 3] });
  });

  it('has consistent attention shares and entropies, with and without meta tokens', () => {
    expect(claims.attention.map((a) => `${a.prompts}/${a.rows}`)).toEqual([
      'task:mqar/all',
      'task:mqar/query',
      'task:mqar/blank',
      'task:copy/all',
      'task:copy/query',
      'task:copy/blank',
    ]);
    for (const a of claims.attention) {
      for (const run of [a.with_meta!, a.without_meta]) {
        expect(run.layers.map((l) => l.layer)).toEqual([0, 1, 2, 3]);
        for (const s of [run.mean, ...run.layers.flatMap((l) => [l.mean, ...l.heads])]) {
          for (const v of [s.meta, s.first, s.self, s.cross]) expect(v).toBeGreaterThanOrEqual(0);
          expect(s.meta + s.first + s.self).toBeLessThanOrEqual(1 + 1e-3);
          expect(Math.abs(s.meta + s.first + s.self + s.cross - 1)).toBeLessThan(2e-3);
          expect(s.entropy).toBeGreaterThanOrEqual(0);
          expect(s.entropy).toBeLessThanOrEqual(Math.log(8 + 128));
        }
      }
      expect(a.without_meta.mean.meta).toBe(0);
    }
    // The meta tokens take a share of the attention, as the card measured it on 16 other sequences (±0.05).
    const all = claims.attention[0];
    const card = cardClaims('hymba-conv').attention.find((a) => a.prompts === 'task:mqar' && a.rows === 'all')!;
    expect(card.with_meta!.mean.meta).toBeGreaterThan(0.05);
    expect(Math.abs(all.with_meta!.mean.meta - card.with_meta!.mean.meta)).toBeLessThan(0.05);
    expect(all.with_meta!.layers.map((l) => l.window)).toEqual([null, 16, 16, null]);
  });

  it('has positive half-lives in order, and positive branch magnitudes', () => {
    const [h] = claims.ssm_half_life; // on the MQAR prompts
    expect(h.tokens).toBe(3 * 128);
    expect(h.layers).toHaveLength(4);
    for (const l of h.layers) {
      expect(l.per_channel).toHaveLength(128);
      expect(l.never_decays).toBe(0);
      for (const v of l.per_channel) expect(v).toBeGreaterThan(0);
      for (const q of [l.slowest_state, l.fastest_state, l.mean_dt]) {
        expect(q.min).toBeGreaterThan(0);
        expect(q.min <= q.q1 && q.q1 <= q.median && q.median <= q.q3 && q.q3 <= q.max).toBe(true);
      }
      expect(l.fastest_state.median).toBeLessThanOrEqual(l.slowest_state.median);
    }
    const [m] = claims.branch_magnitude;
    for (const l of m.layers) {
      for (const b of [l.attention!, l.ssm!]) {
        expect(b.raw_rms).toBeGreaterThan(0);
        expect(b.fused_rms).toBeGreaterThan(0);
      }
      expect(l.ratio_raw).toBeCloseTo(l.attention!.raw_rms / l.ssm!.raw_rms, 2);
    }
  });

  it('computes the half-life of one channel as a hand computation from A_log, x_proj, dt_layernorm and dt_proj does', async () => {
    const c = ck.config;
    const ids = Array.from(new MqarTask().sample(new (await import('../engine/tasks/rng.ts')).Rng(5), 8).ids);
    const layer = 1;
    const e = 37;
    const r = await checkpointClaims(ck, { tasks: [], prompts: [{ name: 'one', sequences: [ids] }] });
    const recorded = r.ssm_half_life[0].layers[layer].per_channel[e];

    // By hand, in float64, from the SSM's conv output (the input of x_proj) and the checkpoint's weights.
    const w = checkpointWeights(ck);
    const p = `model.layers.${layer}.mamba.`;
    const [xProj, dtNorm, dtW, dtB, aLog] = ['x_proj.0.weight', 'dt_layernorm.weight', 'dt_proj.0.weight', 'dt_proj.0.bias', 'A_log.0'].map(
      (n) => w(p + n)!,
    );
    const { dInner: E, dtRank: R, dState: S, numMetaTokens: M } = c;
    const conv = (await new CpuEngine(ck).forward(ids, { taps: [`layers.${layer}.ssm.conv`] })).taps.get(`layers.${layer}.ssm.conv`)!;
    let sum = 0;
    for (let t = M; t < M + ids.length; t++) {
      const s = Array.from({ length: R }, (_, j) => {
        let acc = 0;
        for (let k = 0; k < E; k++) acc += xProj[j * E + k] * conv.data[t * E + k];
        return acc;
      });
      const rms = Math.sqrt(s.reduce((a, v) => a + v * v, 0) / R + c.rmsNormEps);
      let pre = dtB[e];
      for (let j = 0; j < R; j++) pre += dtW[e * R + j] * ((s[j] / rms) * dtNorm[j]);
      sum += pre > 20 ? pre : Math.log1p(Math.exp(pre));
    }
    const meanDt = sum / ids.length;
    const minA = Math.min(...Array.from({ length: S }, (_, s) => Math.exp(aLog[e * S + s])));
    const hand = Math.LN2 / (meanDt * minA);
    expect(recorded).toBeGreaterThan(0);
    expect(Math.abs(recorded - hand) / hand).toBeLessThan(5e-3); // the record keeps 3 significant digits
  });

  it('rejects bad input with a ClaimsError that says what is wrong', async () => {
    await expect(checkpointClaims(ck, { tasks: [], prompts: [{ name: 'bad', sequences: [[1, 99_999]] }] })).rejects.toThrow(
      /prompt set "bad", sequence 0: .*outside the vocabulary/,
    );
    await expect(checkpointClaims(ck, { tasks: [], prompts: [{ name: 'short', sequences: [[1]] }] })).rejects.toThrow(ClaimsError);
    await expect(checkpointClaims(ck, { tasks: [new MqarTask()], n: 2, statsN: 3 })).rejects.toThrow(/statsN must be an integer in 0..2/);
    await expect(checkpointClaims(ck, { tasks: [] })).rejects.toThrow(/at least one task or prompt set/);
  });
});

// hymba (no conv) never learned MQAR-128 in the zoo's budget (its card: chance-level accuracy, every seed).
describe('claims on models/hymba: a task the model never learned', () => {
  it('no ablation costs MQAR anything significant, so no branch carries it', async () => {
    const ck = await load('hymba');
    const { ablations } = await checkpointClaims(ck, { tasks: [new MqarTask()], n: 10, statsN: 1, seed: 2_024 });
    const [mqar] = ablations;
    expect(mqar.task).toBe('mqar');
    expect(mqar.baseline).toBeLessThan(0.1);
    expect(mqar.results.filter((r) => r.significant).map((r) => r.id)).toEqual([]);
    expect(mqar.carried_by).toBe('neither');
    expect(mqar.critical).toEqual([]);
    expect(mqar.sufficient_alone).toEqual([]);
  });
});

describe('ablationPlan', () => {
  it('lists every branch, group and the meta tokens a model has, and nothing it lacks', async () => {
    const ids = async (name: string) => ablationPlan((await load(name)).config).map((p) => p.id);
    expect(await ids('hymba')).toEqual([
      'attn@0',
      'attn@1',
      'attn@2',
      'attn@3',
      'ssm@0',
      'ssm@1',
      'ssm@2',
      'ssm@3',
      'attn@*',
      'ssm@*',
      'attn@windowed',
      'attn@global',
      'attn-only@0',
      'attn-only@1',
      'attn-only@2',
      'attn-only@3',
      'meta-off',
    ]);
    const only = ['attn-only@0', 'attn-only@1', 'attn-only@2', 'attn-only@3'];
    expect(await ids('swa')).toEqual(['attn@0', 'attn@1', 'attn@2', 'attn@3', 'attn@*', 'attn@windowed', ...only]);
    expect(await ids('sequential')).toEqual([
      'attn@1',
      'attn@3',
      'ssm@0',
      'ssm@2',
      'attn@*',
      'ssm@*',
      'attn@global',
      'attn-only@1',
      'attn-only@3',
    ]);
    expect(await ids('ssm')).toEqual(['ssm@0', 'ssm@1', 'ssm@2', 'ssm@3', 'ssm@*']);
  });
});

describe('claims on a model without attention or meta tokens (models/ssm)', () => {
  it('records no attention, and half-lives and magnitudes of its SSM layers', async () => {
    const ck = await load('ssm');
    const r = await measureClaims(new CpuEngine(ck), checkpointWeights(ck), { tasks: [new MqarTask()], n: 2, statsN: 1 });
    expect(r.attention).toEqual([]);
    expect(r.ablations[0].results.map((x) => x.id)).toEqual(['ssm@0', 'ssm@1', 'ssm@2', 'ssm@3', 'ssm@*']);
    expect(r.ssm_half_life[0].layers).toHaveLength(4);
    expect(r.branch_magnitude[0].layers.every((l) => l.attention === null && l.ratio_raw === null && l.ssm!.raw_rms > 0)).toBe(true);
  });
});

describe('quartiles', () => {
  it('interpolates between order statistics as numpy does', () => {
    expect(quartiles([4, 1, 3, 2])).toEqual({ min: 1, q1: 1.75, median: 2.5, q3: 3.25, max: 4 });
  });
});

describe('hymba claims (CLI)', () => {
  const hymba = (...args: string[]) => {
    const r = spawnSync(process.execPath, ['--no-warnings', 'engine/cli/main.ts', 'claims', ...args], { cwd: repoRoot, encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('writes the record for a model folder, on extra prompts too', () => {
    const prompts = path.join(tmp, 'prompts.json');
    writeFileSync(prompts, JSON.stringify({ name: 'counting', sequences: [[1, 2, 3, 4, 5, 6]] }));
    const out = path.join(tmp, 'seq.json');
    const r = hymba('--model', 'models/sequential', '--n', '2', '--stats-n', '1', '--prompts', prompts, '--backend', 'cpu', '--out', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^mqar: baseline/);
    const rec = JSON.parse(readFileSync(out, 'utf8'));
    expect(rec.model_dir).toBe('models/sequential');
    expect(rec.model.global_layers).toEqual([1, 3]);
    expect(rec.settings).toMatchObject({ n: 2, stats_n: 1 });
    expect(rec.settings.prompt_sets).toEqual([
      { name: 'task:mqar', sequences: 1 },
      { name: 'counting', sequences: 1 },
    ]);
    expect(rec.attention.map((a: { prompts: string; rows: string }) => `${a.prompts}/${a.rows}`)).toEqual([
      'task:mqar/all',
      'task:mqar/query',
      'task:mqar/blank',
      'counting/all',
    ]);
  });

  it('refuses bad flags with a usage message', () => {
    const out = path.join(tmp, 'x.json');
    const bad = hymba('--model', 'models/ssm', '--backend', 'tpu', '--out', out);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--backend must be cpu or webgpu, got "tpu"/);
    expect(hymba('--model', 'models/ssm').stderr).toMatch(/--out is required/);
    const task = hymba('--model', 'models/ssm', '--task', 'nope', '--out', out);
    expect(task.code).not.toBe(0);
    expect(task.stderr).toMatch(/unknown task "nope"/);
    const prompts = path.join(tmp, 'bad-prompts.json');
    writeFileSync(prompts, '{"sequences": [[1, "a"]]}');
    expect(hymba('--model', 'models/ssm', '--prompts', prompts, '--out', out).stderr).toMatch(/expected a JSON array of token-id arrays/);
  });
});
