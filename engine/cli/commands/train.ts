// `npm run train -- --task mqar --config FILE --steps N --batch B --seed S --out models/NAME [--lr X] [--role ROLE]`
// Trains a model on the GPU through Dawn (SwiftShader when there is no GPU), evaluates it, and writes the model
// folder: config.json + model.safetensors + card.json. `--zoo NAME` takes config, lr and role from engine/train/zoo.ts.
import path from 'node:path';
import { parseConfig, type HymbaConfig } from '../../config.ts';
import { UsageError, type Command } from '../args.ts';
import { nodeGpu } from '../../webgpu/node-device.node.ts';
import { TASK_NAMES, taskByName } from '../../tasks/index.ts';
import { train, type Progress, type TrainSettings } from '../../train/trainer.ts';
import { kernelProfileOf } from '../../webgpu/runtime.ts';
import { makeCard } from '../../train/card.ts';
import { syntheticEvaluation } from '../../train/zoo-metrics.ts';
import { writeModelFolder } from '../../train/folder.node.ts';
import { ZOO, ZOO_BUDGET, zooTask } from '../../train/zoo.ts';
import type { Task } from '../../tasks/types.ts';
import { checkFolderTarget, readTextInput, replaceFolder } from '../files.ts';

const usage = `usage: npm run train -- --task ${TASK_NAMES.join('|')} (--config FILE | --zoo NAME) --steps N --batch B --seed S --out DIR [--force]
       [--lr X] [--role ROLE] [--name NAME] [--eval-n 500] [--eval-pairs LEVELS (default: the task's)] [--eval-every 0] [--log-every 50]`;

/** The config of --config FILE, with the file named when it is not JSON. */
function readConfigFile(file: string): Record<string, unknown> {
  const text = readTextInput('config', file);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--config ${file}: not valid JSON (${(e as Error).message})`);
  }
}

/**
 * Refuse a batch whose largest training buffer (in_proj or MLP activations over every row, the attention
 * probabilities, or the logits of every target) would not fit one storage buffer of this GPU: WebGPU's own error
 * would only say that a buffer could not be made.
 */
function checkBatch(batch: number, config: HymbaConfig, task: Task, device: GPUDevice): void {
  const N = config.numMetaTokens + task.seqLen;
  const widest = Math.max(2 * config.intermediateSize, ...config.layers.map((l) => l.rows.total));
  const heads = Math.max(...config.layers.map((l) => l.numHeads));
  const perSequence = Math.max(N * widest, heads * N * N, task.maxTargets * config.vocabSize) * 4;
  const limit = device.limits.maxStorageBufferBindingSize;
  if (batch * perSequence > limit) {
    throw new UsageError(
      `--batch ${batch} needs a ${((batch * perSequence) / 1e9).toFixed(2)} GB buffer, over this GPU's ${(limit / 1e9).toFixed(2)} GB ` +
        `storage-buffer limit: the largest batch for this model and task is ${Math.floor(limit / perSequence)}`,
    );
  }
}

function bar(p: Progress): string {
  const width = 30;
  const done = Math.round((width * p.step) / p.steps);
  return `[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} ${p.stepsPerSecond.toFixed(1)} steps/s`;
}

const command: Command = {
  usage,
  flags: {
    task: 'string',
    config: 'string',
    zoo: 'string',
    steps: 'string',
    batch: 'string',
    seed: 'string',
    out: 'string',
    force: 'boolean',
    lr: 'string',
    role: 'string',
    name: 'string',
    'eval-n': 'string',
    'eval-pairs': 'string',
    'eval-every': 'string',
    'log-every': 'string',
  },
  async run(args) {
    const zoo = args.string('zoo');
    const entry = zoo ? ZOO.find((z) => z.name === zoo) : undefined;
    if (zoo && !entry) throw new UsageError(`unknown zoo model "${zoo}" (zoo: ${ZOO.map((z) => z.name).join(', ')})`);
    if (entry?.zoo === 'english' && !args.has('task'))
      throw new UsageError(`${entry.name} trains on the Brown corpus: use engine/train/zoo-run.node.ts (docs/zoo.md)`);
    // A synthetic zoo model trains on the zoo's task mixture unless --task says otherwise.
    const task = entry && !args.has('task') ? zooTask(entry) : taskByName(args.string('task') ?? 'mqar');
    if (!entry && !args.has('config')) throw new UsageError('give --config FILE or --zoo NAME');
    const rawConfig = entry ? entry.config : readConfigFile(args.required('config'));
    const config = parseConfig(rawConfig);
    const out = args.required('out');
    const force = args.flag('force');
    checkFolderTarget('out', out, force); // before any training, not after it
    const settings: TrainSettings = {
      steps: args.int('steps', entry ? ZOO_BUDGET.steps : undefined, 1),
      batch: args.int('batch', entry ? ZOO_BUDGET.batch : undefined, 1),
      seed: args.int('seed', entry ? ZOO_BUDGET.seed : 0),
      lr: args.number('lr', entry?.lr ?? 3e-3),
      logEvery: args.int('log-every', 50, 1),
      evalEvery: args.int('eval-every', 0, 0),
      evalPairs: 16,
      evalN: 256,
    };
    // The task's own levels (pairs, tokens to copy, classes) unless given.
    const zooEval = entry && !args.has('task') ? syntheticEvaluation() : undefined;
    if (zooEval) {
      settings.evalTask = zooEval.evalTasks[0];
      settings.evalPairs = zooEval.headlines[0].level;
    }
    const evalPairs = args.ints('eval-pairs') ?? [...(task.evalLevels ?? [4, 8, 16, 24])];
    const evalN = args.int('eval-n', 500, 1);
    const ctx = await nodeGpu();
    checkBatch(settings.batch, config, task, ctx.device);
    settings.kernels = kernelProfileOf(ctx.adapterInfo);
    const adapter = [ctx.adapterInfo.vendor, ctx.adapterInfo.architecture, ctx.adapterInfo.description].filter(Boolean).join(' / ');
    const name = args.string('name') ?? path.basename(path.resolve(out));
    console.error(`training ${name} (${config.numLayers} layers, task ${task.name}) on ${adapter}`);
    const tty = process.stderr.isTTY;
    const run = await train(ctx.device, config, task, settings, (p) => {
      if (tty) process.stderr.write(`\r${bar(p)}`);
      else if (p.step % (settings.logEvery! * 10) === 0 || p.step === p.steps) console.error(bar(p));
    });
    if (tty) process.stderr.write('\n');
    console.error(
      `trained in ${run.trainSeconds.toFixed(1)} s (${run.stepsPerSecond.toFixed(1)} steps/s, ${run.dispatchesPerStep} dispatches/step); evaluating…`,
    );
    const { card, safetensors } = await makeCard({
      name,
      role: args.string('role') ?? entry?.role ?? name,
      description: entry?.description,
      config,
      task,
      settings,
      run,
      adapter,
      evalPairs,
      evalN,
      ...zooEval,
    });
    run.graph.dispose();
    await replaceFolder('out', out, force, (tmp) => writeModelFolder(tmp, config, safetensors, card));
    const acc = card.accuracy?.by_pairs ?? {};
    console.log(
      `${name}: ${Object.entries(acc)
        .map(([p, a]) => `${p} pairs ${(100 * a).toFixed(1)}%`)
        .join(', ')} → ${out}`,
    );
  },
};
export default command;
