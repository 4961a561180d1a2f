// The English zoo's claims (card.claims, engine/analysis/text-claims.ts): every card records every seed and a summary
// that is exactly their spread, and the shipped seed's record is recomputed on fresh validation windows (disjoint from
// the card's) on the CPU reference engine and agrees with the card within sampling error, including every direction
// the lessons state. Also: a zoo description names the window of the model it describes (issue 18 item 5.3).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../engine/checkpoint/load.ts';
import { folderFiles } from '../engine/checkpoint/folder.node.ts';
import { CpuEngine } from '../engine/cpu/forward.ts';
import { checkpointWeights, ClaimsError } from '../engine/analysis/claims.ts';
import {
  measureTextClaims,
  textClaimsSummary,
  textWindows,
  type TextClaims,
  type TextClaimsBlock,
} from '../engine/analysis/text-claims.ts';
import { loadEnglishData, ENGLISH_SEQ_LEN } from '../engine/text/english.node.ts';
import { describeRole, ENGLISH_ZOO, SYNTHETIC_ZOO, ZOO_RULE } from '../engine/train/zoo.ts';
import type { Example } from '../engine/tasks/types.ts';
import { repoRoot } from './paths.ts';

const modelDir = (name: string) => path.join(repoRoot, 'models', name);
const json = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
type Card = { shipped_seed: number; description: string; claims: TextClaimsBlock };
const cardOf = (name: string) => json(path.join(modelDir(name), 'card.json')) as unknown as Card;

describe('zoo descriptions name the window of what they describe', () => {
  for (const entry of SYNTHETIC_ZOO) {
    it(`${entry.name}: described from the shipped config.json, the window is the shipped one`, () => {
      const shipped = json(path.join(modelDir(entry.name), 'config.json'));
      const text = describeRole(entry.role, shipped);
      for (const [, w] of text.matchAll(/window (?:of )?(\d+)/g)) expect(Number(w)).toBe(shipped.sliding_window);
      expect(describeRole(entry.role, entry.config)).toBe(entry.description);
    });
  }
  it('a shipped synthetic model is described from its own config (its window), not from the recipe', () => {
    for (const name of ['parallel-swa', 'swa']) {
      const shipped = json(path.join(modelDir(name), 'config.json'));
      const text = describeRole(name, shipped);
      for (const [, w] of text.matchAll(/window (?:of )?(\d+)/g)) expect(Number(w), name).toBe(shipped.sliding_window);
      const other = { ...shipped, sliding_window: (shipped.sliding_window as number) + 8 };
      expect(describeRole(name, other)).not.toBe(text);
    }
  });
  for (const entry of ENGLISH_ZOO) {
    it(`${entry.name}: the card's description is the zoo's, and its window is the config's`, () => {
      const config = json(path.join(modelDir(entry.name), 'config.json'));
      expect(cardOf(entry.name).description).toBe(entry.description);
      for (const [, w] of entry.description.matchAll(/window (?:of )?(\d+)/g)) expect(Number(w)).toBe(config.sliding_window);
    });
  }
  it('refuses an unknown role or a config without a window', () => {
    expect(() => describeRole('nope', { sliding_window: 16 })).toThrow(/no roadmap step "nope"/);
    expect(() => describeRole('swa', {})).toThrow(/no numeric sliding_window/);
  });
});

describe('English cards record the claims of every seed', () => {
  for (const entry of ENGLISH_ZOO) {
    it(`${entry.name}: seeds ${ZOO_RULE.seeds.join(', ')}, the shipped one marked, the summary is their spread`, () => {
      const card = cardOf(entry.name);
      const block = card.claims;
      expect(block.seeds.map((s) => s.seed)).toEqual(ZOO_RULE.seeds);
      expect(block.seeds.filter((s) => s.shipped).map((s) => s.seed)).toEqual([card.shipped_seed]);
      expect(block.summary).toEqual(textClaimsSummary(block.seeds, ENGLISH_SEQ_LEN));
      for (const s of block.seeds) {
        expect(s.settings.windows).toBe(block.seeds[0].settings.windows);
        expect(s.ablations.map((a) => a.id)).toEqual(block.seeds[0].ablations.map((a) => a.id));
      }
    });
  }
});

let validation: Example[];
beforeAll(async () => {
  validation = (await loadEnglishData()).validation;
}, 120_000);

describe('textWindows', () => {
  it('spreads n windows over the split, a phase gives disjoint ones, bad input is refused', () => {
    const a = textWindows(validation, 48);
    const b = textWindows(validation, 48, 0.5);
    expect(a).toHaveLength(48);
    expect(new Set(a).size).toBe(48);
    expect(a.some((w) => b.includes(w))).toBe(false);
    expect(() => textWindows(validation, 0)).toThrow(ClaimsError);
    expect(() => textWindows(validation, 10, 1)).toThrow(/phase/);
  });
});

/** Recompute a model's shipped-seed claims on 12 fresh windows and compare them with its card. */
async function recompute(name: string): Promise<{ card: TextClaims; fresh: TextClaims; summary: TextClaimsBlock['summary'] }> {
  const block = cardOf(name).claims;
  const card = block.seeds.find((s) => s.shipped)!;
  const ck = await loadCheckpoint(folderFiles(modelDir(name)));
  const fresh = await measureTextClaims(new CpuEngine(ck), checkpointWeights(ck), {
    windows: textWindows(validation, 12, 0.5),
    selection: 'fresh: 12 windows at phase 0.5',
    statsWindows: 4,
  });
  return { card, fresh, summary: block.summary };
}

function expectRisesAgree(card: TextClaims, fresh: TextClaims): void {
  expect(fresh.ablations.map((a) => a.id)).toEqual(card.ablations.map((a) => a.id));
  expect(Math.abs(fresh.loss - card.loss), 'intact loss').toBeLessThan(0.3);
  for (const a of card.ablations) {
    const f = fresh.ablations.find((x) => x.id === a.id)!;
    // Different text, so a rise moves by its sampling error (4 SE of each sample) and a little more on long tails.
    const tolerance = 4 * Math.hypot(a.se, f.se) + 0.1 * Math.abs(a.rise) + 0.02;
    expect(Math.abs(f.rise - a.rise), `${a.id}: fresh ${f.rise}, card ${a.rise}`).toBeLessThanOrEqual(tolerance);
  }
  // The branch whose removal costs most is the same one.
  const top = (c: TextClaims) => c.ablations.slice().sort((x, y) => y.rise - x.rise)[0].id;
  expect(top(fresh)).toBe(top(card));
}

describe('en-hymba: the shipped seed recomputed on fresh validation text', () => {
  let r: Awaited<ReturnType<typeof recompute>>;
  beforeAll(async () => {
    r = await recompute('en-hymba');
  }, 300_000);

  it('every ablation raises the loss by what the card says', () => expectRisesAgree(r.card, r.fresh));

  it('attention with and without meta tokens: shares and entropy as the card, the entropy change in its direction', () => {
    const all = (c: TextClaims) => c.attention.find((a) => a.rows === 'all')!;
    const [c, f] = [all(r.card), all(r.fresh)];
    expect(Math.abs(f.with_meta!.mean.meta - c.with_meta!.mean.meta)).toBeLessThan(0.06);
    expect(Math.abs(f.with_meta!.mean.first - c.with_meta!.mean.first)).toBeLessThan(0.05);
    expect(Math.abs(f.without_meta.mean.first - c.without_meta.mean.first)).toBeLessThan(0.05);
    expect(Math.abs(f.with_meta!.mean.entropy - c.with_meta!.mean.entropy)).toBeLessThan(0.3);
    const change = (x: typeof c) => x.with_meta!.mean.entropy - x.without_meta.mean.entropy;
    expect(Math.sign(change(f))).toBe(Math.sign(change(c)));
    // Lessons quote the direction from the summary: all three seeds must agree for it to be stated.
    expect(Math.sign(r.summary.attention!.entropy_change!.min)).toBe(Math.sign(r.summary.attention!.entropy_change!.max));
  });

  it('SSM half-lives and branch magnitudes as the card', () => {
    r.card.ssm_half_life[0].layers.forEach((l, i) => {
      const f = r.fresh.ssm_half_life[0].layers[i];
      expect(f.slowest_state.median / l.slowest_state.median).toBeGreaterThan(0.75);
      expect(f.slowest_state.median / l.slowest_state.median).toBeLessThan(1.33);
    });
    r.card.branch_magnitude[0].layers.forEach((l, i) => {
      const f = r.fresh.branch_magnitude[0].layers[i];
      expect(Math.abs(f.ratio_fused! / l.ratio_fused! - 1)).toBeLessThan(0.2);
    });
  });
});

describe('en-ssm: the shipped seed recomputed on fresh validation text', () => {
  it('ablations, half-lives; no attention recorded', async () => {
    const r = await recompute('en-ssm');
    expectRisesAgree(r.card, r.fresh);
    expect(r.fresh.attention).toEqual([]);
    expect(r.summary.attention).toBeUndefined();
    r.card.ssm_half_life[0].layers.forEach((l, i) => {
      const ratio = r.fresh.ssm_half_life[0].layers[i].slowest_state.median / l.slowest_state.median;
      expect(ratio).toBeGreaterThan(0.75);
      expect(ratio).toBeLessThan(1.33);
    });
  }, 300_000);
});

describe('measureTextClaims input', () => {
  it('refuses too few windows or a bad stats count with a ClaimsError', async () => {
    const ck = await loadCheckpoint(folderFiles(modelDir('en-ssm')));
    const engine = new CpuEngine(ck);
    const weights = checkpointWeights(ck);
    await expect(measureTextClaims(engine, weights, { windows: validation.slice(0, 1), selection: '' })).rejects.toThrow(/at least 2/);
    await expect(measureTextClaims(engine, weights, { windows: validation.slice(0, 3), selection: '', statsWindows: 4 })).rejects.toThrow(
      /statsWindows must be an integer in 1..3/,
    );
  });
});
