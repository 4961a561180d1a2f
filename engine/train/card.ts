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
import { attentionDiagnostics, engineRecall, graphRecall, recallTable, round, type TrainRun, type TrainSettings } from './trainer.ts';

/** Accuracy by pairs and, at the headline pairs, by key–query distance (what trainer.ts recallTable builds). */
export interface RecallTable {
  by_pairs: Record<string, number>;
  by_distance: Record<string, { accuracy: number; queries: number }> | null;
  distance_pairs: number;
}

/** models/<name>/card.json: what makeCard writes and the site reads (site/lib/content/recall-cards.ts, the widgets). */
export interface ModelCard {
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
    recall_curve: { step: number; seconds: number; accuracy: number }[];
    /** First evaluation during training at ≥ 99 % (16 pairs), or null when none reached it. */
    time_to_99: { step: number; seconds: number } | null;
  };
  cache: {
    seq_len: number;
    total_bytes: number;
    kv_bytes: number;
    ssm_state_bytes: number;
    conv_state_bytes: number;
    convention: string;
  };
  accuracy: RecallTable & { examples_per_point: number; metric: string };
  engine_check: { examples: number; pairs: number; cpu_engine: number; batched_graph: number };
  attention: Record<string, unknown> | null;
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
  const byPairs = new Map<number, RecallScore>();
  for (const p of i.evalPairs) byPairs.set(p, await graphRecall(run.graph, task, p, i.evalN, slot));
  const { ck, safetensors } = await checkpointOf(config, run.params);
  const cpu = new CpuEngine(ck);
  // The inference engine must agree with the batched evaluation on the same examples.
  const checkN = Math.min(24, i.evalN);
  const cpuScore = await engineRecall(cpu, task, 16, checkN);
  const gpuScore = await graphRecall(run.graph, task, 16, checkN, slot);
  const cache = cacheBytes(config, { seqLen: task.seqLen });
  const target = run.curve.find((c) => c.accuracy >= 0.99);
  const card: ModelCard = {
    name: i.name,
    role: i.role,
    description: i.description ?? '',
    task: {
      name: task.name,
      seq_len: task.seqLen,
      vocab_size: task.vocabSize,
      ...pick(task.info, ['keys', 'values', 'blank', 'power_a', 'train_pairs']),
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
      recall_curve: run.curve.map((c) => ({ step: c.step, seconds: round(c.seconds, 2), accuracy: round(c.accuracy) })),
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
    accuracy: {
      ...(recallTable(byPairs) as unknown as RecallTable),
      examples_per_point: i.evalN,
      metric: 'fraction of answer positions whose argmax equals the value; fresh sequences',
    },
    engine_check: { examples: checkN, pairs: 16, cpu_engine: round(cpuScore.accuracy()), batched_graph: round(gpuScore.accuracy()) },
    attention: await attentionDiagnostics(cpu, task, 16, 8),
  };
  return { card, safetensors };
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
