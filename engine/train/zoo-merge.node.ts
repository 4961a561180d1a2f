// Merges the per-seed folders of a bulk run (IN/NAME.sSEED/, from scripts/device-zoo.sh) into the shipped zoo
// folders OUT/NAME/: seed 1's config and weights, and seed 1's card with every seed's headline metrics (`seeds`)
// and their mean and range (`spread`). Claims: where every seed's card carries one (`claims --card` on the seed
// folders, as scripts/device-zoo's finish step does), the merged card gets the block of all seeds (task-claims.ts);
// otherwise an English card keeps the `claims` block already in OUT/NAME/card.json (measured after the merge, from
// the seed folders: `claims --english --seed-dirs`), and a synthetic card gets none (an old block describes old
// weights). Node only.
//   npx node engine/train/zoo-merge.node.ts IN OUT [NAME…]
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ZOO, ZOO_RULE } from './zoo.ts';
import { spread } from './zoo-metrics.ts';
import { taskClaimsBlock } from '../analysis/task-claims.ts';
import type { Claims } from '../analysis/claims.ts';

const SHIPPED_SEED = 1;
const [inDir, outDir, ...only] = process.argv.slice(2);
if (!inDir || !outDir) throw new Error('usage: zoo-merge IN OUT [NAME…]');

type Card = Record<string, unknown> & { metrics?: Record<string, number>; training: Record<string, unknown>; claims?: unknown };
const readCard = async (dir: string): Promise<Card> => JSON.parse(await readFile(path.join(dir, 'card.json'), 'utf8')) as Card;

for (const entry of ZOO.filter((z) => only.length === 0 || only.includes(z.name))) {
  const dirs = ZOO_RULE.seeds
    .map((s) => ({ seed: s, dir: path.join(inDir, `${entry.name}.s${s}`) }))
    .filter((d) => existsSync(path.join(d.dir, 'card.json')));
  const shipped = dirs.find((d) => d.seed === SHIPPED_SEED);
  if (!shipped) {
    console.log(`${entry.name}: no seed ${SHIPPED_SEED} in ${inDir}, skipped`);
    continue;
  }
  const cards = await Promise.all(dirs.map(async (d) => ({ seed: d.seed, card: await readCard(d.dir) })));
  const seeds = cards.map(({ seed, card }) => ({
    seed,
    metrics: card.metrics ?? {},
    final_loss: card.training.final_loss,
    wall_seconds: card.training.wall_seconds,
    steps_per_second: card.training.steps_per_second,
    tokens_per_second: card.training.tokens_per_second,
  }));
  // Seed 1's own `claims` (one seed's record) never reaches the merged card: only the block of all seeds, or none.
  const { claims: _seedRecord, ...card } = cards.find((c) => c.seed === SHIPPED_SEED)!.card;
  const target = path.join(outDir, entry.name);
  const old = existsSync(path.join(target, 'card.json')) ? await readCard(target) : null;
  const seedClaims = cards.every((c) => c.card.claims !== undefined)
    ? taskClaimsBlock(
        cards.map((c) => ({ seed: c.seed, shipped: c.seed === SHIPPED_SEED, claims: c.card.claims as Claims })),
        `seed ${SHIPPED_SEED} ships in this folder; seeds ${cards.map((c) => c.seed).join(', ')} measured from the training run's folders`,
      )
    : undefined;
  const claims = seedClaims ?? (entry.zoo === 'english' ? old?.claims : undefined);
  const merged = {
    ...card,
    shipped_seed: SHIPPED_SEED,
    seeds,
    spread: spread(seeds),
    ...(claims !== undefined ? { claims } : {}),
  };
  await mkdir(target, { recursive: true });
  await copyFile(path.join(shipped.dir, 'config.json'), path.join(target, 'config.json'));
  await copyFile(path.join(shipped.dir, 'model.safetensors'), path.join(target, 'model.safetensors'));
  await writeFile(path.join(target, 'card.json'), JSON.stringify(merged, null, 2) + '\n');
  console.log(`${entry.name}: seeds ${dirs.map((d) => d.seed).join(', ')} → ${target} ${JSON.stringify(merged.spread)}`);
}
