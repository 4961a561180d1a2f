// Recompute the `summary` of every English card's claims block from its seeds (textClaimsSummary), after the
// summary gains a field: the per-seed records are the measurement, the summary is a pure function of them.
// npx node scripts/resummarise-claims.ts
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { textClaimsSummary, type TextClaimsBlock } from '../engine/analysis/text-claims.ts';
import { ENGLISH_SEQ_LEN } from '../engine/text/english.node.ts';
import { ENGLISH_ZOO } from '../engine/train/zoo.ts';

// The card's block, and the CLI's --out record of it (bench/results/claims-english), where there is one.
for (const { name } of ENGLISH_ZOO) {
  for (const [file, block] of [
    [new URL(`../models/${name}/card.json`, import.meta.url), (c: Record<string, unknown>) => c.claims],
    [new URL(`../bench/results/claims-english/${name}.json`, import.meta.url), (c: Record<string, unknown>) => c],
  ] as const) {
    if (!existsSync(file)) continue;
    const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const b = block(json) as TextClaimsBlock | undefined;
    if (!b?.seeds) continue;
    b.summary = textClaimsSummary(b.seeds, ENGLISH_SEQ_LEN);
    writeFileSync(file, JSON.stringify(json, null, 2) + '\n');
    console.log(`${file.pathname}: summary recomputed from ${b.seeds.length} seeds`);
  }
}
