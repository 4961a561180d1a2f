// `npm run hymba -- generate --model DIR --ids 1,2,3 --max-new-tokens K --out FILE.safetensors
//   [--window-rule hf|prefill] [--backend cpu|webgpu] [--temperature T --top-k K --top-p P --seed S] [--no-meta]`
// Incremental generation over real caches: one prefill, then one decode step per token. Writes `gen_ids` int32 [K]
// and `gen_logits` float32 [K, vocab] (row s = the logits token s was chosen from), as in the golden files.
import { existsSync, statSync } from 'node:fs';
import { UsageError, type Args, type Command } from '../args.ts';
import { loadCheckpoint } from '../../checkpoint/load.ts';
import { folderFiles } from '../../checkpoint/folder.node.ts';
import { writeSafetensors } from '../../checkpoint/safetensors.ts';
import { validateIds } from '../../model.ts';
import { generate as generateTokens, type SamplingOptions } from '../../sampling.ts';
import { BACKENDS, openBackend } from '../../session/open.node.ts';
import type { WindowRule } from '../../session/types.ts';
import { checkFinite, folderInputs, MAX_MODEL_BYTES, refuseInputAsOutput, writeFileAtomic } from '../files.ts';

export class ModelFolderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFolderError';
  }
}

/** Load the model folder of --model, with a clear message when it is not one or is too large to hold in memory. */
export async function loadModelFolder(dir: string) {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new ModelFolderError(`--model ${dir}: no such folder (expected a folder with config.json and model.safetensors)`);
  return loadCheckpoint(folderFiles(dir), { maxBytes: MAX_MODEL_BYTES });
}

export function choice<T extends string>(args: Args, flag: string, allowed: readonly T[], fallback: T): T {
  const v = args.string(flag) ?? fallback;
  if (!allowed.includes(v as T)) throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}, got "${v}"`);
  return v as T;
}

function sampling(args: Args): SamplingOptions {
  const o: SamplingOptions = { temperature: args.number('temperature', 0), seed: args.int('seed', 0) };
  if (args.has('top-k')) o.topK = args.int('top-k', undefined, 1);
  if (args.has('top-p')) o.topP = args.number('top-p');
  if (o.temperature! < 0) throw new UsageError(`--temperature must be ≥ 0, got ${o.temperature}`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) throw new UsageError(`--top-p must be in (0, 1], got ${o.topP}`);
  if ((o.topK !== undefined || o.topP !== undefined) && o.temperature === 0) {
    throw new UsageError('--top-k/--top-p only apply when sampling: give --temperature > 0 (0 is greedy)');
  }
  return o;
}

const generate: Command = {
  usage:
    'usage: npm run hymba -- generate --model DIR --ids 1,2,3 --max-new-tokens K --out FILE.safetensors\n' +
    '         [--window-rule hf|prefill] [--backend cpu|webgpu] [--temperature T --top-k K --top-p P --seed S] [--no-meta]',
  flags: {
    model: 'string',
    ids: 'string',
    'max-new-tokens': 'string',
    out: 'string',
    'window-rule': 'string',
    backend: 'string',
    temperature: 'string',
    'top-k': 'string',
    'top-p': 'string',
    seed: 'string',
    'no-meta': 'boolean',
  },
  async run(args) {
    const dir = args.required('model');
    const ids = args.ints('ids', 0);
    if (!ids) throw new UsageError('--ids is required (comma-separated token ids, e.g. --ids 1,2,3)');
    const maxNewTokens = args.int('max-new-tokens', undefined, 1);
    const out = args.required('out');
    refuseInputAsOutput('out', out, folderInputs(dir));
    const windowRule = choice<WindowRule>(args, 'window-rule', ['hf', 'prefill'], 'hf');
    const backend = choice(args, 'backend', BACKENDS, 'cpu');
    const sample = sampling(args);
    const meta = !args.flag('no-meta');

    const ck = await loadModelFolder(dir);
    const config = ck.config;
    validateIds(config, ids, meta);
    // K new tokens feed the prompt and K − 1 of them back: all of it must fit in the model's positions.
    const needed = ids.length + maxNewTokens - 1;
    if (needed > config.maxPositionEmbeddings) {
      throw new UsageError(
        `the prompt (${ids.length} tokens) plus ${maxNewTokens} new tokens needs ${needed} positions; this model has ${config.maxPositionEmbeddings}`,
      );
    }

    const host = await openBackend(backend, ck);
    try {
      const session = await host.open({ windowRule, meta, maxContext: needed });
      const t0 = performance.now();
      const r = await generateTokens(session, ids, { maxNewTokens, sampling: sample });
      const ms = performance.now() - t0;
      session.dispose();
      const V = config.vocabSize;
      const logits = new Float32Array(maxNewTokens * V);
      r.logits.forEach((l, s) => logits.set(l, s * V));
      checkFinite(logits, `the logits of the ${maxNewTokens} generated tokens`);
      writeFileAtomic(
        out,
        writeSafetensors(
          [
            { name: 'gen_ids', dtype: 'I32', shape: [maxNewTokens], data: Int32Array.from(r.ids) },
            { name: 'gen_logits', dtype: 'F32', shape: [maxNewTokens, V], data: logits },
          ],
          { format: 'pt', backend, window_rule: windowRule, meta: String(meta), prompt: ids.join(',') },
        ),
      );
      console.log(`gen_ids ${r.ids.join(',')}`);
      console.log(`${maxNewTokens} tokens in ${ms.toFixed(1)} ms on ${backend} (window rule ${windowRule}); wrote ${out}`);
    } finally {
      host.dispose();
    }
  },
};

export default generate;
