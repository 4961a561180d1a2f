// `npm run hymba -- eval --model DIR [--task NAME] [--levels 4,8,16,24] [--n 500] [--backend cpu|webgpu|batched] [--json]`
// A task's accuracy for a model folder: overall at each level (MQAR: pairs; copying: tokens to copy; majority:
// classes), and at the headline level (16, or the middle of --levels) by key→query distance and by the task's own
// axes (copying: which quarter of the string; majority: classes and margin). --task defaults to MQAR-128 (at the
// model's vocabulary if it is below 512); the tasks are engine/tasks/index.ts's. cpu / webgpu run the inference
// engines one sequence at a time; batched runs the training graph's forward over 64 sequences at once (the same
// function, much faster on a GPU). --pairs is the older name of --levels.
import { weightF32 } from '../../checkpoint/load.ts';
import { loadModelFolder } from './generate.ts';
import { CpuEngine } from '../../cpu/forward.ts';
import type { Engine } from '../../model.ts';
import { MqarTask } from '../../tasks/mqar.ts';
import { TASK_NAMES, taskByName } from '../../tasks/index.ts';
import type { RecallScore } from '../../tasks/distance.ts';
import type { Task } from '../../tasks/types.ts';
import { UsageError, type Command } from '../args.ts';
import { engineRecall, graphRecall, round } from '../../train/trainer.ts';
import { TrainGraph } from '../../train/graph.ts';
import { paramLayout } from '../../train/params.ts';

const usage = `usage: npm run hymba -- eval --model DIR [--task ${TASK_NAMES.join('|')}] [--levels L1,L2,…] [--n 500]
       [--backend cpu|webgpu|batched] [--seed S] [--json]`;

const percent = (x: number) => `${(100 * x).toFixed(2)}%`;
const rounded = (t: Record<string, { accuracy: number; queries: number }>) =>
  Object.fromEntries(Object.entries(t).map(([k, v]) => [k, { accuracy: round(v.accuracy), queries: v.queries }]));

const command: Command = {
  usage,
  flags: {
    model: 'string',
    task: 'string',
    levels: 'string',
    pairs: 'string',
    n: 'string',
    backend: 'string',
    seed: 'string',
    json: 'boolean',
  },
  async run(args) {
    // Flags first, so a bad flag is reported as such whatever the model or task.
    if (args.has('levels') && args.has('pairs')) throw new UsageError('give --levels or its older name --pairs, not both');
    const givenLevels = args.ints('levels') ?? args.ints('pairs');
    const n = args.int('n', 500, 1);
    const seed = args.has('seed') ? args.int('seed') : undefined;
    const backend = args.string('backend') ?? 'webgpu';
    if (!['cpu', 'webgpu', 'batched'].includes(backend)) throw new UsageError(`--backend must be cpu, webgpu or batched, got "${backend}"`);
    const ck = await loadModelFolder(args.required('model'));
    const taskName = args.string('task') ?? 'mqar';
    const task: Task = taskName === 'mqar' ? new MqarTask({ vocabSize: Math.min(512, ck.config.vocabSize) }) : taskByName(taskName);
    if (task.vocabSize > ck.config.vocabSize)
      throw new UsageError(
        `task ${task.name} uses token ids up to ${task.vocabSize - 1}; the model's vocabulary has ${ck.config.vocabSize}`,
      );
    if (task.seqLen > ck.config.maxPositionEmbeddings)
      throw new UsageError(`task ${task.name} needs ${task.seqLen} positions; the model takes ${ck.config.maxPositionEmbeddings}`);
    const levels = givenLevels ?? [...(task.evalLevels ?? [4, 8, 16, 24])];
    const headline = levels.includes(16) ? 16 : levels[Math.floor(levels.length / 2)];
    const scores = new Map<number, RecallScore>();
    if (backend === 'batched') {
      const { nodeGpu } = await import('../../webgpu/node-device.node.ts');
      const { device } = await nodeGpu();
      const layout = paramLayout(ck.config);
      const flat = new Float32Array(layout.total);
      for (const e of layout.entries) flat.set(weightF32(ck.weights.get(e.name)!), e.offset);
      const graph = new TrainGraph(device, ck.config, {
        batch: 64,
        seqLen: task.seqLen,
        maxTargets: 64 * Math.max(task.maxTargets, ...levels),
      });
      await graph.setParams(flat);
      for (const p of levels) scores.set(p, await graphRecall(graph, task, p, n, 0, seed));
      graph.dispose();
    } else {
      let engine: Engine;
      if (backend === 'cpu') engine = new CpuEngine(ck);
      else {
        const { nodeGpu } = await import('../../webgpu/node-device.node.ts');
        const { WebGpuEngine } = await import('../../webgpu/engine.ts');
        engine = new WebGpuEngine(await nodeGpu(), ck);
      }
      for (const p of levels) scores.set(p, await engineRecall(engine, task, p, n, seed));
      engine.dispose();
    }
    const level = task.levelName ?? 'pairs';
    const head = scores.get(headline)!.table();
    if (args.flag('json')) {
      const out = {
        model: args.required('model'),
        task: task.info,
        backend,
        n,
        level,
        by_pairs: Object.fromEntries([...scores].map(([p, s]) => [p, round(s.accuracy())])),
        distance_pairs: headline,
        by_distance: rounded(head.by_distance),
        by_axis: Object.fromEntries(Object.entries(head.by_axis).map(([axis, t]) => [axis, rounded(t)])),
      };
      console.log(JSON.stringify(out, null, 2));
      return;
    }
    console.log(`${task.name} (${task.seqLen} tokens) on ${args.required('model')} (${backend}, ${n} fresh sequences per point)`);
    for (const [p, s] of scores) console.log(`  ${String(p).padStart(3)} ${level}: ${percent(s.accuracy())}`);
    const tables: Array<[string, Record<string, { accuracy: number; queries: number }>]> = [
      ['key→query distance', head.by_distance],
      ...Object.entries(head.by_axis),
    ];
    for (const [axis, t] of tables) {
      console.log(`  by ${axis} at ${headline} ${level}:`);
      for (const [k, v] of Object.entries(t)) console.log(`    ${k.padStart(8)}: ${percent(v.accuracy)} (${v.queries} answers)`);
    }
  },
};
export default command;
