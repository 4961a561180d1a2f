// engine/analysis/recall.ts on the trained zoo: accuracy at 16 pairs on fresh sequences (other seeds than the
// cards' evaluation) matches each model's card within sampling error, on the CPU reference engine.
// Needs the trained zoo in models/: fails, never skips, when a model or its card is missing.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../engine/node.ts';
import { evaluateRecall, mqar128, standardError } from '../engine/analysis/recall.ts';
import { repoRoot } from './paths.ts';

const ZOO = ['attention', 'ssm', 'swa', 'sequential', 'parallel', 'parallel-swa', 'parallel-swa-kv', 'hymba'];
const PAIRS = 16;
/** 12 sequences × 16 queries per model: the CPU engine answers one sequence in well under a second. */
const SEQUENCES = 12;

describe('recall on the zoo matches the model cards', () => {
  for (const name of ZOO) {
    it(`${name}: accuracy at ${PAIRS} pairs`, async () => {
      const dir = path.join(repoRoot, 'models', name);
      expect(
        existsSync(path.join(dir, 'card.json')),
        `models/${name}/card.json is missing: train the zoo (npm run train -- --zoo ${name} …)`,
      ).toBe(true);
      const card = JSON.parse(readFileSync(path.join(dir, 'card.json'), 'utf8'));
      const expected = card.accuracy.by_pairs[String(PAIRS)] as number;
      expect(typeof expected).toBe('number');
      const engine = await loadEngine(dir, { backend: 'cpu' });
      const r = await evaluateRecall(engine, mqar128(), { pairs: PAIRS, n: SEQUENCES, seed: 31_337 });
      expect(r.total).toBe(SEQUENCES * PAIRS);
      // Queries of one sequence are correlated, so allow 4 binomial standard errors plus 3 points.
      const tolerance = 4 * standardError(expected, r.total) + 0.03;
      expect(Math.abs(r.accuracy - expected), `measured ${r.accuracy.toFixed(3)}, card ${expected}`).toBeLessThanOrEqual(tolerance);
    });
  }
});
