// `npm run hymba -- forward --model DIR --ids 1,2,3 --out FILE.safetensors [--backend webgpu|cpu] [--no-meta]
//   [--ablate SPEC] [--window W]`
// One prefill pass. Writes `logits` float32 [n, vocab] (text positions) and `hidden_states_k` float32 [M+n, D]
// for k = 0..L, with the golden files' names and conventions.
import { UsageError, type Args, type Command } from '../args.ts';
import { writeSafetensors } from '../../checkpoint/safetensors.ts';
import { parseAblation } from '../../ablation.ts';
import type { ForwardOptions } from '../../model.ts';
import { choice, loadModelFolder } from './generate.ts';
import { openEngine } from './predict.ts';
import { checkFinite, folderInputs, refuseInputAsOutput, writeFileAtomic } from '../files.ts';

const usage = `usage: npm run hymba -- forward --model DIR --ids 1,2,3 --out FILE.safetensors [--backend webgpu|cpu] [--no-meta] [--ablate SPEC] [--window W]`;

async function run(args: Args): Promise<number> {
  const dir = args.required('model');
  const ids = args.ints('ids', 0);
  if (!ids) throw new UsageError('--ids is required (comma-separated token ids)');
  const outFile = args.required('out');
  refuseInputAsOutput('out', outFile, folderInputs(dir));
  const backend = choice(args, 'backend', ['webgpu', 'cpu'] as const, 'webgpu');
  const ck = await loadModelFolder(dir);
  const opts: ForwardOptions = { meta: !args.flag('no-meta'), taps: ['hidden_states.*'] };
  if (args.has('window')) opts.window = args.int('window', undefined, 1);
  if (args.has('ablate')) opts.ablation = parseAblation(args.required('ablate'), ck.config);
  const engine = await openEngine(backend, ck);
  try {
    const r = await engine.forward(ids, opts);
    checkFinite(r.logits.data, `the logits of --ids ${ids.join(',')}`);
    const tensors = [{ name: 'logits', dtype: 'F32' as const, shape: r.logits.shape, data: r.logits.data }];
    for (let k = 0; k <= ck.config.numLayers; k++) {
      const h = r.taps.get(`hidden_states.${k}`)!;
      tensors.push({ name: `hidden_states_${k}`, dtype: 'F32', shape: h.shape, data: h.data });
    }
    writeFileAtomic(outFile, writeSafetensors(tensors, { format: 'pt', backend, ids: ids.join(',') }));
    console.log(`wrote ${outFile}: logits [${r.logits.shape}], hidden_states_0..${ck.config.numLayers} (${backend})`);
  } finally {
    engine.dispose();
  }
  return 0;
}

const command: Command = {
  usage,
  flags: { model: 'string', ids: 'string', out: 'string', backend: 'string', 'no-meta': 'boolean', ablate: 'string', window: 'string' },
  run,
};
export default command;
