// `npm run hymba -- claims --model DIR [--task mqar[,copy]] [--n 100] [--stats-n 16] [--seed S]
//                          [--prompts FILE] [--backend cpu|webgpu] --out FILE [--card]`
// Measures the paper's claims on a model folder (engine/analysis/claims.ts) and writes the record as JSON to --out;
// with --card it also sets `claims` in the folder's card.json. --prompts reads extra token-id sequences (e.g. English
// text through the model's tokenizer): a JSON array of id arrays, or {"name": ..., "sequences": [[...], ...]}.
//
// `npm run hymba -- claims --english --model models/en-X [--seed-dirs DIR,DIR] [--windows 24] [--stats-windows 6]
//                          [--backend cpu|webgpu] --out FILE [--card]`
// The same for an English model (engine/analysis/text-claims.ts): loss ablations and statistics on the Brown
// validation windows, for the folder's shipped seed and for each --seed-dirs folder (another seed's weights that the
// training run kept, its card.json naming its training.seed); --card sets the block, every seed with its summary.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { folderFiles } from '../../checkpoint/folder.node.ts';
import { loadCheckpoint } from '../../checkpoint/load.ts';
import { CpuEngine } from '../../cpu/forward.ts';
import type { Engine } from '../../model.ts';
import { taskByName } from '../../tasks/index.ts';
import { checkpointWeights, measureClaims, withClaims, type Claims, type PromptSet } from '../../analysis/claims.ts';
import { UsageError, type Command } from '../args.ts';
import type { Checkpoint } from '../../checkpoint/load.ts';
import {
  DEFAULT_TEXT_STATS_WINDOWS,
  DEFAULT_TEXT_WINDOWS,
  measureTextClaims,
  textClaimsBlock,
  textWindows,
  type TextClaims,
} from '../../analysis/text-claims.ts';

const usage =
  'usage: npm run hymba -- claims --model DIR [--task mqar[,copy]] [--n 100] [--stats-n 16] [--seed S] [--prompts FILE] [--backend cpu|webgpu] --out FILE [--card]\n' +
  '       npm run hymba -- claims --english --model DIR [--seed-dirs DIR,DIR] [--windows 24] [--stats-windows 6] [--backend cpu|webgpu] --out FILE [--card]';

async function engineFor(backend: string, ck: Checkpoint): Promise<Engine> {
  if (backend === 'cpu') return new CpuEngine(ck);
  if (backend === 'webgpu') {
    const { nodeGpu } = await import('../../webgpu/node-device.node.ts');
    const { WebGpuEngine } = await import('../../webgpu/engine.ts');
    return WebGpuEngine.create(await nodeGpu(), ck);
  }
  throw new UsageError(`--backend must be cpu or webgpu, got "${backend}"`);
}

function readCard(dir: string): Record<string, unknown> & { training?: { seed?: number }; shipped_seed?: number } {
  try {
    return JSON.parse(readFileSync(path.join(dir, 'card.json'), 'utf8'));
  } catch (e) {
    throw new UsageError(`${dir}/card.json: ${(e as Error).message}`);
  }
}

function progressLine(): (p: { stage: string; done: number; total: number }) => void {
  let shown = '';
  return ({ stage, done, total }) => {
    const line = `${stage} ${Math.floor((100 * done) / total)}%`;
    if (line !== shown && process.stderr.isTTY) process.stderr.write(`\r${line}   `);
    shown = line;
  };
}

/** --english: every seed's text claims, and the card block. */
async function englishClaims(args: Parameters<Command['run']>[0], dir: string, out: string, backend: string): Promise<void> {
  const { loadEnglishData } = await import('../../text/english.node.ts');
  const card = readCard(dir);
  const shippedSeed = card.shipped_seed ?? card.training?.seed;
  if (!Number.isInteger(shippedSeed)) throw new UsageError(`${dir}/card.json names no shipped_seed or training.seed`);
  const n = args.int('windows', DEFAULT_TEXT_WINDOWS, 2);
  const statsWindows = args.int('stats-windows', Math.min(n, DEFAULT_TEXT_STATS_WINDOWS), 1);
  const { validation } = await loadEnglishData();
  const windows = textWindows(validation, n);
  const selection = `${n} of the ${validation.length} Brown validation windows (textWindows phase 0), seq_len ${windows[0].ids.length}`;
  const others = (args.string('seed-dirs') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((d) => ({ dir: d, seed: readCard(d).training?.seed }))
    .filter((d) => d.seed !== shippedSeed);
  for (const d of others) if (!Number.isInteger(d.seed)) throw new UsageError(`${d.dir}/card.json names no training.seed`);
  const runs = [{ dir, seed: shippedSeed!, shipped: true }, ...others.map((d) => ({ dir: d.dir, seed: d.seed!, shipped: false }))];
  const measured: Array<{ seed: number; shipped: boolean; claims: TextClaims }> = [];
  for (const r of runs) {
    const ck = await loadCheckpoint(folderFiles(r.dir));
    const engine = await engineFor(backend, ck);
    const claims = await measureTextClaims(engine, checkpointWeights(ck), { windows, selection, statsWindows, onProgress: progressLine() });
    engine.dispose();
    if (process.stderr.isTTY) process.stderr.write('\n');
    measured.push({ seed: r.seed, shipped: r.shipped, claims });
    const top = claims.ablations.slice().sort((a, b) => b.rise - a.rise)[0];
    console.log(
      `seed ${r.seed}: loss ${claims.loss.toFixed(3)}; critical ${claims.critical.join(', ') || 'none'}; largest rise ${top ? `${top.id} +${top.rise.toFixed(3)}` : '—'}`,
    );
  }
  const seeds = measured.map((m) => m.seed).sort((a, b) => a - b);
  const weights =
    seeds.length > 1
      ? `seeds ${seeds.join(', ')}: seed ${shippedSeed} from this folder, the others from the training run's folders (their weights do not ship)`
      : `seed ${shippedSeed} only (the shipped weights; no other seed's weights were given)`;
  const block = textClaimsBlock(measured, windows[0].ids.length, weights);
  writeJson(out, { model_dir: dir, ...block });
  if (args.flag('card')) writeJson(path.join(dir, 'card.json'), { ...card, claims: block });
  console.log(`wrote ${out}`);
}

/** Write through a temporary file and a rename, so a stopped run never leaves half a JSON file. */
function writeJson(file: string, value: unknown): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, file);
}

function readPrompts(file: string): PromptSet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`--prompts ${file}: ${(e as Error).message}`);
  }
  const named = parsed as { name?: unknown; sequences?: unknown };
  const sequences = Array.isArray(parsed) ? parsed : named.sequences;
  const ok = Array.isArray(sequences) && sequences.every((s) => Array.isArray(s) && s.every((id) => Number.isInteger(id)));
  if (!ok) throw new UsageError(`--prompts ${file}: expected a JSON array of token-id arrays, or {"name", "sequences": [[ids], ...]}`);
  const name = typeof named.name === 'string' ? named.name : path.basename(file, '.json');
  return { name, sequences: sequences as number[][] };
}

const command: Command = {
  usage,
  flags: {
    model: 'string',
    task: 'string',
    n: 'string',
    'stats-n': 'string',
    seed: 'string',
    prompts: 'string',
    backend: 'string',
    out: 'string',
    card: 'boolean',
    english: 'boolean',
    'seed-dirs': 'string',
    windows: 'string',
    'stats-windows': 'string',
  },
  async run(args) {
    const dir = args.required('model');
    const out = args.required('out');
    if (args.flag('english')) return englishClaims(args, dir, out, args.string('backend') ?? 'cpu');
    const tasks = (args.string('task') ?? 'mqar')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((name) => taskByName(name));
    const n = args.int('n', 100, 1);
    const statsN = args.has('stats-n') ? args.int('stats-n', undefined, 0) : undefined;
    const seed = args.has('seed') ? args.int('seed') : undefined;
    const prompts = args.has('prompts') ? [readPrompts(args.required('prompts'))] : [];
    const backend = args.string('backend') ?? 'cpu';
    const ck = await loadCheckpoint(folderFiles(dir));
    const engine = await engineFor(backend, ck);
    const claims: Claims = await measureClaims(engine, checkpointWeights(ck), {
      tasks,
      n,
      statsN,
      seed,
      prompts,
      onProgress: progressLine(),
    });
    engine.dispose();
    if (process.stderr.isTTY) process.stderr.write('\n');
    writeJson(out, { model_dir: dir, ...claims });
    if (args.flag('card')) {
      const cardFile = path.join(dir, 'card.json');
      writeJson(cardFile, withClaims(JSON.parse(readFileSync(cardFile, 'utf8')), claims));
    }
    for (const t of claims.ablations) {
      const worst = t.results.slice().sort((a, b) => b.drop - a.drop)[0];
      console.log(
        `${t.task}: baseline ${(100 * t.baseline).toFixed(1)}% on ${t.sequences} sequences; carried by ${t.carried_by}; ` +
          `critical ${t.critical.join(', ') || 'none'}; largest drop ${worst ? `${worst.id} ${(100 * worst.drop).toFixed(1)} points` : '—'}`,
      );
    }
    console.log(`wrote ${out}`);
  },
};
export default command;
