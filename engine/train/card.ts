// The model card of a trained model: what it is, how it was trained, and what it measurably does
// (recall by pairs and by distance, attention sinks, cache bytes). Browser-safe.

import type { HymbaConfig } from '../config.ts';
import { cacheBytes } from '../cache/calculator.ts';
import { loadCheckpoint, memoryFiles, type Checkpoint } from '../checkpoint/load.ts';
import { writeSafetensors } from '../checkpoint/safetensors.ts';
import { CpuEngine } from '../cpu/forward.ts';
import type { RecallScore } from '../tasks/distance.ts';
import type { Task } from '../tasks/types.ts';
import { paramLayout, paramTensors } from './params.ts';
import { headlineValue, type Headline } from './zoo-metrics.ts';
import { attentionDiagnostics, engineRecall, graphRecall, recallTable, round, type TrainRun, type TrainSettings } from './trainer.ts';

/** Accuracy by pairs and, at the headline pairs, by key–query distance (what trainer.ts recallTable builds). */
export interface RecallTable {
  by_pairs: Record<string, number>;
  by_distance: Record<string, { accuracy: number; queries: number }> | null;
  distance_pairs: number;
}

/** What every zoo card says, whatever the task (baseCard): the model, its training run and its cache. */
export interface BaseModelCard {
  name: string;
  role: string;
  description: string;
  task: { name: string; seq_len: number; vocab_size: number } & Record<string, unknown>;
  architecture: {
    layers: { mixer: string; attention: string | null; kv_source: number; qkv_conv: number }[];
    hidden_size: number;
    d_inner: number;
    mlp: number;
    meta_tokens: number;
  };
  parameters: number;
  training: {
    steps: number;
    batch: number;
    lr: number;
    seed: number;
    schedule: string;
    optimizer: { name: string; betas: readonly number[]; weight_decay: number; clip_global_norm: number };
    wall_seconds: number;
    steps_per_second: number;
    dispatches_per_step: number;
    adapter: string;
    final_loss: number;
    loss_curve: Array<[number, number]>;
    /** accuracy is null for tasks without queries (language modelling), which record val_loss instead. */
    recall_curve: { step: number; seconds: number; accuracy: number | null; val_loss?: number }[];
    /** First evaluation during training at ≥ 99 % (16 pairs), or null when none reached it. */
    time_to_99: { step: number; seconds: number } | null;
    /** The zoo runs (zoo-run.node.ts) add these. */
    tokens_per_second?: number;
    resumed_at?: number;
  };
  cache: {
    seq_len: number;
    total_bytes: number;
    kv_bytes: number;
    ssm_state_bytes: number;
    conv_state_bytes: number;
    convention: string;
  };
}

/** One task's table on a zoo card trained on a mixture (makeCard with evalTasks). */
export type TaskTable = RecallTable & { level_name: string; axes: Record<string, Record<string, { accuracy: number; queries: number }>> };

/**
 * models/<name>/card.json: what makeCard / zoo-run write and the site reads (site/lib/content/recall-cards.ts, the
 * widgets). Fields past BaseModelCard are optional: the English cards have no recall table, and cards written before
 * the current zoo have no metrics, tasks, seeds or spread.
 */
export interface ModelCard extends BaseModelCard {
  accuracy?: RecallTable & { examples_per_point: number; metric: string };
  /** Older cards name the level `pairs`; mixture cards name the task and its level. */
  engine_check?: { examples: number; pairs?: number; task?: string; level?: number; cpu_engine: number; batched_graph: number };
  attention?: Record<string, unknown> | null;
  /** Headline numbers (zoo-metrics.ts), by key. */
  metrics?: Record<string, number>;
  tasks?: Record<string, TaskTable>;
  /** The English zoo: corpus, tokenizer, validation loss, n-gram baselines, recall on text. */
  language?: Record<string, unknown>;
  /** zoo-merge.node.ts: the seed whose weights ship, every seed's headline numbers, and their mean and range. */
  shipped_seed?: number;
  seeds?: {
    seed: number;
    metrics: Record<string, number>;
    final_loss: number;
    wall_seconds: number;
    steps_per_second: number;
    tokens_per_second?: number;
  }[];
  spread?: Record<string, { mean: number; min: number; max: number }>;
  /** Engineer J's claims record (claims CLI), kept by zoo-merge. */
  claims?: unknown;
}

export interface CardInputs {
  name: string;
  role: string;
  description?: string;
  config: HymbaConfig;
  task: Task;
  settings: TrainSettings;
  run: TrainRun;
  adapter: string;
  evalPairs: number[];
  evalN: number;
  /**
   * Tasks to measure, each at its evalLevels (a zoo trained on a mixture): the first one also fills `accuracy`
   * (the recall widgets' by_pairs / by_distance). Default: `task` at evalPairs.
   */
  evalTasks?: Task[];
  /** Named headline numbers (card.metrics), each from its task's score at its level. */
  headlines?: Headline[];
}

/** A checkpoint in memory from a flat parameter array (for the CPU engine and for writing the folder). */
export async function checkpointOf(config: HymbaConfig, flat: Float32Array): Promise<{ ck: Checkpoint; safetensors: Uint8Array }> {
  const safetensors = writeSafetensors(paramTensors(paramLayout(config), flat), { format: 'pt' });
  const ck = await loadCheckpoint(memoryFiles('trained', { 'config.json': JSON.stringify(config.raw), 'model.safetensors': safetensors }));
  return { ck, safetensors };
}

export async function makeCard(i: CardInputs): Promise<{ card: ModelCard; safetensors: Uint8Array }> {
  const { config, task, run, settings } = i;
  const slot = settings.steps;
  const evalTasks = i.evalTasks ?? [task];
  const levelsOf = (t: Task) => (i.evalTasks ? [...(t.evalLevels ?? [])] : i.evalPairs);
  const scores = new Map<string, Map<number, RecallScore>>();
  for (const t of evalTasks) {
    const byLevel = new Map<number, RecallScore>();
    for (const p of levelsOf(t)) byLevel.set(p, await graphRecall(run.graph, t, p, i.evalN, slot));
    scores.set(t.name, byLevel);
  }
  const first = evalTasks[0];
  const headlineOf = (t: Task) => i.headlines?.find((h) => h.task === t.name)?.level ?? 16;
  const checkLevel = i.evalTasks ? headlineOf(first) : 16;
  const { ck, safetensors } = await checkpointOf(config, run.params);
  const cpu = new CpuEngine(ck);
  // The inference engine must agree with the batched evaluation on the same examples (few: 512-token tasks are slow on the CPU).
  const checkN = Math.min(first.seqLen > 128 ? 8 : 24, i.evalN);
  const cpuScore = await engineRecall(cpu, first, checkLevel, checkN);
  const gpuScore = await graphRecall(run.graph, first, checkLevel, checkN, slot);
  const metrics: Record<string, number> = {};
  for (const h of i.headlines ?? []) {
    const score = scores.get(h.task)?.get(h.level);
    if (!score) throw new Error(`headline ${h.key}: ${h.task} was not measured at level ${h.level}`);
    metrics[h.key] = round(headlineValue(h, score));
  }
  const byTask = i.evalTasks
    ? Object.fromEntries(
        evalTasks.map((t) => {
          const byLevel = scores.get(t.name)!;
          const h = byLevel.get(headlineOf(t));
          return [
            t.name,
            {
              level_name: t.levelName ?? 'pairs',
              ...(recallTable(byLevel, headlineOf(t)) as unknown as RecallTable),
              axes: h ? roundTables(h.axisTables()) : {},
            },
          ];
        }),
      )
    : undefined;
  const card: ModelCard = {
    ...baseCard(i),
    ...(i.headlines ? { metrics } : {}),
    ...(byTask ? { tasks: byTask } : {}),
    accuracy: {
      ...(recallTable(scores.get(first.name)!, checkLevel) as unknown as RecallTable),
      examples_per_point: i.evalN,
      metric: 'fraction of answer positions whose argmax equals the value; fresh sequences',
    },
    engine_check: {
      examples: checkN,
      task: first.name,
      level: checkLevel,
      cpu_engine: round(cpuScore.accuracy()),
      batched_graph: round(gpuScore.accuracy()),
    },
    attention: await attentionDiagnostics(cpu, first, 16, 8),
  };
  return { card, safetensors };
}

/** What every zoo card says, whatever the task: the model, its training run and its cache. */
export function baseCard(i: CardInputs): BaseModelCard {
  const { config, task, run, settings } = i;
  const cache = cacheBytes(config, { seqLen: task.seqLen });
  const target = run.curve.find((c) => c.accuracy >= 0.99);
  return {
    name: i.name,
    role: i.role,
    description: i.description ?? '',
    task: {
      name: task.name,
      seq_len: task.seqLen,
      vocab_size: task.vocabSize,
      ...pick(task.info, ['keys', 'values', 'blank', 'power_a', 'train_pairs', 'mixture']),
    },
    architecture: {
      layers: config.layers.map((l) => ({
        mixer: l.mixer,
        attention: l.hasAttention ? (l.global ? 'global' : `window ${config.slidingWindow}`) : null,
        kv_source: l.kvSource,
        qkv_conv: l.qkvConv,
      })),
      hidden_size: config.hiddenSize,
      d_inner: config.dInner,
      mlp: config.intermediateSize,
      meta_tokens: config.numMetaTokens,
    },
    parameters: paramLayout(config).count,
    training: {
      steps: settings.steps,
      batch: settings.batch,
      lr: settings.lr,
      seed: settings.seed,
      schedule: `linear warmup ${(settings.warmup ?? 0.05) * 100}% × cosine to 0`,
      optimizer: {
        name: 'AdamW',
        betas: settings.betas ?? [0.9, 0.98],
        weight_decay: settings.weightDecay ?? 0.1,
        clip_global_norm: settings.clip ?? 1,
      },
      wall_seconds: round(run.trainSeconds, 2),
      steps_per_second: round(run.stepsPerSecond, 2),
      dispatches_per_step: run.dispatchesPerStep,
      adapter: i.adapter,
      final_loss: round(mean(run.losses.subarray(Math.max(0, run.losses.length - 50)))),
      loss_curve: sampleCurve(run.losses, 20),
      recall_curve: run.curve.map((c) => ({
        step: c.step,
        seconds: round(c.seconds, 2),
        accuracy: Number.isFinite(c.accuracy) ? round(c.accuracy) : null,
        ...(c.valLoss !== undefined ? { val_loss: round(c.valLoss) } : {}),
      })),
      time_to_99: target ? { step: target.step, seconds: round(target.seconds, 2) } : null,
    },
    cache: {
      seq_len: task.seqLen,
      total_bytes: cache.total_bytes,
      kv_bytes: cache.kv_bytes,
      ssm_state_bytes: cache.ssm_state_bytes,
      conv_state_bytes: cache.conv_state_bytes,
      convention: `KV ${cache.dtype}, SSM/conv state ${cache.state_dtype}, window rule ${cache.window_rule} (engine/cache/calculator.ts)`,
    },
  };
}

function roundTables(t: Record<string, Record<string, { accuracy: number; queries: number }>>) {
  return Object.fromEntries(
    Object.entries(t).map(([axis, rows]) => [
      axis,
      Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, { accuracy: round(v.accuracy), queries: v.queries }])),
    ]),
  );
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));
}
function mean(a: Float32Array): number {
  return a.reduce((s, v) => s + v, 0) / Math.max(1, a.length);
}
function sampleCurve(losses: Float32Array, points: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let k = 0; k < points; k++) {
    const i = Math.min(losses.length - 1, Math.round((k * (losses.length - 1)) / (points - 1)));
    out.push([i + 1, round(losses[i])]);
  }
  return out;
}
