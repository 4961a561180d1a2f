// `npm run hymba -- eval --model DIR [--pairs 4,8,16,24] [--n 500] [--backend cpu|webgpu|batched] [--json]`
// MQAR-128 recall of a model folder: accuracy by number of pairs and (at 16 pairs, or the middle of --pairs) by
// key→query distance. cpu / webgpu run the inference engines one sequence at a time; batched runs the training
// graph's forward over 64 sequences at once (the same function, much faster on a GPU).
import { weightF32 } from '../../checkpoint/load.ts';
import { loadModelFolder } from './generate.ts';
import { CpuEngine } from '../../cpu/forward.ts';
import type { Engine } from '../../model.ts';
import { MqarTask } from '../../tasks/mqar.ts';
import type { RecallScore } from '../../tasks/distance.ts';
import { UsageError, type Command } from '../args.ts';
import { engineRecall, graphRecall, recallTable } from '../../train/trainer.ts';
import { TrainGraph } from '../../train/graph.ts';
import { paramLayout } from '../../train/params.ts';

const usage = 'usage: npm run hymba -- eval --model DIR [--pairs 4,8,16,24] [--n 500] [--backend cpu|webgpu|batched] [--seed S] [--json]';

const command: Command = {
  usage,
  flags: { model: 'string', pairs: 'string', n: 'string', backend: 'string', seed: 'string', json: 'boolean' },
  async run(args) {
    const ck = await loadModelFolder(args.required('model'));
    const pairsList = args.ints('pairs') ?? [4, 8, 16, 24];
    const n = args.int('n', 500, 1);
    const seed = args.has('seed') ? args.int('seed') : undefined;
    const backend = args.string('backend') ?? 'webgpu';
    const task = new MqarTask({ vocabSize: ck.config.vocabSize >= 512 ? 512 : ck.config.vocabSize });
    const headline = pairsList.includes(16) ? 16 : pairsList[Math.floor(pairsList.length / 2)];
    const scores = new Map<number, RecallScore>();
    if (backend === 'batched') {
      const { nodeGpu } = await import('../../webgpu/node-device.node.ts');
      const { device } = await nodeGpu();
      const layout = paramLayout(ck.config);
      const flat = new Float32Array(layout.total);
      for (const e of layout.entries) flat.set(weightF32(ck.weights.get(e.name)!), e.offset);
      const graph = new TrainGraph(device, ck.config, { batch: 64, seqLen: task.seqLen, maxTargets: 64 * Math.max(...pairsList) });
      await graph.setParams(flat);
      for (const p of pairsList) scores.set(p, await graphRecall(graph, task, p, n, 0, seed));
      graph.dispose();
    } else {
      let engine: Engine;
      if (backend === 'cpu') engine = new CpuEngine(ck);
      else if (backend === 'webgpu') {
        const { nodeGpu } = await import('../../webgpu/node-device.node.ts');
        const { WebGpuEngine } = await import('../../webgpu/engine.ts');
        engine = new WebGpuEngine(await nodeGpu(), ck);
      } else throw new UsageError(`--backend must be cpu, webgpu or batched, got "${backend}"`);
      for (const p of pairsList) scores.set(p, await engineRecall(engine, task, p, n, seed));
      engine.dispose();
    }
    const table = recallTable(scores, headline);
    if (args.flag('json')) {
      console.log(JSON.stringify({ model: args.required('model'), backend, n, ...table }, null, 2));
      return;
    }
    console.log(`MQAR-128 recall of ${args.required('model')} (${backend}, ${n} fresh sequences per point)`);
    for (const [p, s] of scores) console.log(`  ${String(p).padStart(3)} pairs: ${(100 * s.accuracy()).toFixed(2)}%`);
    console.log(`  by key→query distance at ${headline} pairs:`);
    for (const [k, v] of Object.entries(scores.get(headline)!.distanceTable()))
      console.log(`    ${k.padStart(8)}: ${(100 * v.accuracy).toFixed(2)}% (${v.queries} queries)`);
  },
};
export default command;
