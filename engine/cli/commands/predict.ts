// `npm run hymba -- predict --model DIR --in FILE.jsonl --out FILE.jsonl [--backend webgpu|cpu] [--no-meta]`
// Each input line is a JSON array of token ids; each output line is the JSON array of the argmax next-token id at
// every position of that prompt (one prefill pass per line).
import { UsageError, type Args, type Command } from '../args.ts';
import type { Checkpoint } from '../../checkpoint/load.ts';
import { CpuEngine } from '../../cpu/forward.ts';
import { WebGpuEngine } from '../../webgpu/engine.ts';
import { nodeGpu } from '../../webgpu/node-device.node.ts';
import type { Engine } from '../../model.ts';
import { choice, loadModelFolder } from './generate.ts';
import { validateIds } from '../../model.ts';
import { checkFinite, folderInputs, readTextInput, refuseInputAsOutput, writeFileAtomic } from '../files.ts';

const usage = `usage: npm run hymba -- predict --model DIR --in FILE.jsonl --out FILE.jsonl [--backend webgpu|cpu] [--no-meta]`;

/** The engine for a CLI --backend (webgpu = Dawn; WebGpuUnavailableError with install advice when no adapter). */
export async function openEngine(backend: 'webgpu' | 'cpu', ck: Checkpoint): Promise<Engine> {
  if (backend === 'cpu') return new CpuEngine(ck);
  return WebGpuEngine.create(await nodeGpu(), ck);
}

/** The prompts of the input file, with the line each came from (blank lines skipped). */
function parseLines(file: string, text: string): { line: number; ids: number[] }[] {
  const prompts: { line: number; ids: number[] }[] = [];
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
    prompts.push({ line: i + 1, ids: v as number[] });
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
  refuseInputAsOutput('out', outFile, [inFile, ...folderInputs(dir)]);
  const prompts = parseLines(inFile, readTextInput('in', inFile));
  const ck = await loadModelFolder(dir);
  const meta = !args.flag('no-meta');
  // Every line is checked against the model before any work, so a bad line 2,001 costs no 2,000 forward passes.
  for (const { line, ids } of prompts) {
    try {
      validateIds(ck.config, ids, meta);
    } catch (e) {
      throw new UsageError(`${inFile}:${line}: ${(e as Error).message}`);
    }
  }
  const engine = await openEngine(backend, ck);
  const lines: string[] = [];
  try {
    for (const { line, ids } of prompts) {
      const { logits } = await engine.forward(ids, { meta });
      checkFinite(logits.data, `${inFile}:${line}: the logits`);
      lines.push(JSON.stringify(argmaxRows(logits.data, logits.shape[0], logits.shape[1])));
    }
  } finally {
    engine.dispose();
  }
  writeFileAtomic(outFile, lines.map((l) => l + '\n').join(''));
  console.log(`wrote ${outFile}: ${lines.length} lines (${backend})`);
  return 0;
}

const command: Command = { usage, flags: { model: 'string', in: 'string', out: 'string', backend: 'string', 'no-meta': 'boolean' }, run };
export default command;
