// `npm run hymba -- predict --model DIR --in FILE.jsonl --out FILE.jsonl [--backend webgpu|cpu] [--no-meta]`
// Each input line is a JSON array of token ids; each output line is the JSON array of the argmax next-token id at
// every position of that prompt (one prefill pass per line).
import { readFileSync, writeFileSync } from 'node:fs';
import { UsageError, type Args, type Command } from '../args.ts';
import type { Checkpoint } from '../../checkpoint/load.ts';
import { CpuEngine } from '../../cpu/forward.ts';
import { WebGpuEngine } from '../../webgpu/engine.ts';
import { nodeGpu } from '../../webgpu/node-device.node.ts';
import type { Engine } from '../../model.ts';
import { choice, loadModelFolder } from './generate.ts';

const usage = `usage: npm run hymba -- predict --model DIR --in FILE.jsonl --out FILE.jsonl [--backend webgpu|cpu] [--no-meta]`;

/** The engine for a CLI --backend (webgpu = Dawn; WebGpuUnavailableError with install advice when no adapter). */
export async function openEngine(backend: 'webgpu' | 'cpu', ck: Checkpoint): Promise<Engine> {
  if (backend === 'cpu') return new CpuEngine(ck);
  return WebGpuEngine.create(await nodeGpu(), ck);
}

function parseLines(file: string, text: string): number[][] {
  const prompts: number[][] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new UsageError(`${file}:${i + 1}: not JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x)))
      throw new UsageError(`${file}:${i + 1}: expected a JSON array of token ids`);
    prompts.push(v as number[]);
  });
  return prompts;
}

function argmaxRows(data: Float32Array, rows: number, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (data[r * cols + c] > data[r * cols + best]) best = c;
    out.push(best);
  }
  return out;
}

async function run(args: Args): Promise<number> {
  const dir = args.required('model');
  const inFile = args.required('in');
  const outFile = args.required('out');
  const backend = choice(args, 'backend', ['webgpu', 'cpu'] as const, 'webgpu');
  const prompts = parseLines(inFile, readFileSync(inFile, 'utf8'));
  const ck = await loadModelFolder(dir);
  const engine = await openEngine(backend, ck);
  const lines: string[] = [];
  try {
    for (const ids of prompts) {
      const { logits } = await engine.forward(ids, { meta: !args.flag('no-meta') });
      lines.push(JSON.stringify(argmaxRows(logits.data, logits.shape[0], logits.shape[1])));
    }
  } finally {
    engine.dispose();
  }
  writeFileSync(outFile, lines.map((l) => l + '\n').join(''));
  console.log(`wrote ${outFile}: ${lines.length} lines (${backend})`);
  return 0;
}

const command: Command = { usage, flags: { model: 'string', in: 'string', out: 'string', backend: 'string', 'no-meta': 'boolean' }, run };
export default command;
