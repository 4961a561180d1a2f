// Trains zoo models one after another in this process and writes their folders (Node only). Used for the bulk
// run on a real GPU (bundled with esbuild; see docs/zoo.md). `npm run train -- --zoo NAME` does the same for one.
//   node zoo-run.mjs OUT_DIR NAME… [--steps N] [--batch B] [--eval-n N] [--eval-every N] [--curve-n N] [--lr X] [--tag T]
import path from 'node:path';
import { parseConfig } from '../config.ts';
import { nodeGpu } from '../webgpu/node-device.node.ts';
import { MqarTask } from '../tasks/mqar.ts';
import { train, type TrainSettings } from './trainer.ts';
import { kernelProfileOf } from '../webgpu/runtime.ts';
import { makeCard } from './card.ts';
import { writeModelFolder } from './folder.node.ts';
import { ZOO, ZOO_BUDGET } from './zoo.ts';

const argv = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(argv.splice(i, 2)[1]);
  if (!Number.isFinite(v)) throw new Error(`--${name} needs a number`);
  return v;
};
const steps = flag('steps', ZOO_BUDGET.steps);
const batch = flag('batch', ZOO_BUDGET.batch);
const evalN = flag('eval-n', 500);
const evalEvery = flag('eval-every', 100);
const curveN = flag('curve-n', 256);
const lrOverride = flag('lr', 0);
const embedStd = flag('embed-std', 0);
const linearStd = flag('linear-std', 0);
const residualStd = flag('residual-std', 0);
const init = { embedStd: embedStd || undefined, linearStd: linearStd || undefined, residualStd: residualStd || undefined };
const tagAt = argv.indexOf('--tag');
const tag = tagAt >= 0 ? argv.splice(tagAt, 2)[1] : '';
const setAt = argv.indexOf('--set');
const overrides = setAt >= 0 ? (JSON.parse(argv.splice(setAt, 2)[1]) as Record<string, unknown>) : {};
const [outDir, ...names] = argv;
if (!outDir || names.length === 0)
  throw new Error(
    'usage: zoo-run OUT_DIR NAME… [--steps N] [--batch B] [--eval-n N] [--eval-every N] [--curve-n N] [--lr X] [--tag T] [--embed-std X] [--linear-std X] [--residual-std X] [--set CONFIG_JSON]',
  );

const ctx = await nodeGpu();
const adapter = [ctx.adapterInfo.vendor, ctx.adapterInfo.architecture, ctx.adapterInfo.description].filter(Boolean).join(' / ');
const task = new MqarTask();
for (const name of names) {
  const entry = ZOO.find((z) => z.name === name);
  if (!entry) throw new Error(`unknown zoo model ${name}`);
  const config = parseConfig({ ...entry.config, ...overrides });
  const settings: TrainSettings = {
    steps,
    batch,
    lr: lrOverride || entry.lr,
    seed: ZOO_BUDGET.seed,
    logEvery: 250,
    evalEvery,
    evalPairs: 16,
    evalN: curveN,
    kernels: kernelProfileOf(ctx.adapterInfo),
    init,
  };
  const t0 = performance.now();
  console.log(`[${name}] start on ${adapter}`);
  const run = await train(ctx.device, config, task, settings, (p) =>
    console.log(`[${name}] step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} ${p.stepsPerSecond.toFixed(1)} steps/s`),
  );
  const c99 = run.curve.find((c) => c.accuracy >= 0.99);
  console.log(
    `[${name}] trained ${run.trainSeconds.toFixed(1)} s, ${run.stepsPerSecond.toFixed(1)} steps/s, ${run.dispatchesPerStep} dispatches/step, time to 99%: ${c99 ? `${c99.seconds.toFixed(1)} s (step ${c99.step})` : 'not reached'}`,
  );
  const { card, safetensors } = await makeCard({
    name,
    role: entry.role,
    description: entry.description,
    config,
    task,
    settings,
    run,
    adapter,
    evalPairs: [4, 8, 16, 24],
    evalN,
  });
  run.graph.dispose();
  await writeModelFolder(path.join(outDir, tag ? `${name}.${tag}` : name), config, safetensors, card);
  console.log(
    `[${name}] accuracy ${JSON.stringify(card.accuracy.by_pairs)} by distance ${JSON.stringify(card.accuracy.by_distance)} (${((performance.now() - t0) / 1000).toFixed(1)} s total)`,
  );
}
process.exit(0);
