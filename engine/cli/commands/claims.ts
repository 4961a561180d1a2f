// `npm run hymba -- claims --model DIR [--task mqar[,copy]] [--n 100] [--stats-n 16] [--seed S]
//                          [--prompts FILE] [--backend cpu|webgpu] --out FILE [--card]`
// Measures the paper's claims on a model folder (engine/analysis/claims.ts) and writes the record as JSON to --out;
// with --card it also sets `claims` in the folder's card.json. --prompts reads extra token-id sequences (e.g. English
// text through the model's tokenizer): a JSON array of id arrays, or {"name": ..., "sequences": [[...], ...]}.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { folderFiles } from '../../checkpoint/folder.node.ts';
import { loadCheckpoint } from '../../checkpoint/load.ts';
import { CpuEngine } from '../../cpu/forward.ts';
import type { Engine } from '../../model.ts';
import { taskByName } from '../../tasks/index.ts';
import { checkpointWeights, measureClaims, withClaims, type Claims, type PromptSet } from '../../analysis/claims.ts';
import { UsageError, type Command } from '../args.ts';

const usage =
  'usage: npm run hymba -- claims --model DIR [--task mqar[,copy]] [--n 100] [--stats-n 16] [--seed S] [--prompts FILE] [--backend cpu|webgpu] --out FILE [--card]';

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
  },
  async run(args) {
    const dir = args.required('model');
    const out = args.required('out');
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
    let engine: Engine;
    if (backend === 'cpu') engine = new CpuEngine(ck);
    else if (backend === 'webgpu') {
      const { nodeGpu } = await import('../../webgpu/node-device.node.ts');
      const { WebGpuEngine } = await import('../../webgpu/engine.ts');
      engine = await WebGpuEngine.create(await nodeGpu(), ck);
    } else throw new UsageError(`--backend must be cpu or webgpu, got "${backend}"`);
    let shown = '';
    const claims: Claims = await measureClaims(engine, checkpointWeights(ck), {
      tasks,
      n,
      statsN,
      seed,
      prompts,
      onProgress: ({ stage, done, total }) => {
        const line = `${stage} ${Math.floor((100 * done) / total)}%`;
        if (line !== shown && process.stderr.isTTY) process.stderr.write(`\r${line}   `);
        shown = line;
      },
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
