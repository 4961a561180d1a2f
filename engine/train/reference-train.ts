// A small float64 CPU training loop over the reference (reference.ts), with the GPU trainer's recipe (AdamW
// 0.9/0.98, ε 1e-8, decoupled weight decay 0.1 on the decayed tensors, clipping at global norm 1, warmup × cosine).
// Slow (~0.05–0.3 s per step on a small MQAR) but needs no GPU: it is for architecture experiments at small scale —
// which layer layouts learn MQAR at all, and how fast — and for the test that pins the zoo's recipe.
import { parseConfig, type HymbaConfig } from '../config.ts';
import { Rng } from '../tasks/rng.ts';
import { MqarTask } from '../tasks/mqar.ts';
import { initParams, paramLayout, type InitSpread } from './params.ts';
import { referenceLossAndGrads } from './reference.ts';
import { learningRate } from './trainer.ts';

/** The small-scale lab: MQAR with 32 tokens, vocab 64 and 4 pairs; d_model 32, 2 query heads sharing 1 KV head. */
export function smallMqarConfig(mixers: string[], overrides: Record<string, unknown> = {}): HymbaConfig {
  return parseConfig({
    model_type: 'hymba',
    hidden_size: 32,
    num_hidden_layers: mixers.length,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    intermediate_size: 32,
    vocab_size: 64,
    mamba_d_state: 8,
    mamba_dt_rank: 2,
    max_position_embeddings: 64,
    rope_type: 'default',
    global_attn_idx: mixers.map((_, i) => i),
    lab_mixers: mixers,
    ...overrides,
  });
}

export interface ReferenceTrainOptions {
  steps: number;
  lr: number;
  batch?: number;
  seed?: number;
  /** Stop after this many steps (the schedule still spans `steps`). */
  stopAfter?: number;
  init?: InitSpread;
  /** Called every 100 steps with the mean loss of those steps. */
  onLoss?: (step: number, meanLoss: number) => void;
}

/** Trains on the small MQAR; returns the loss of every step and the final parameters. */
export function referenceTrain(config: HymbaConfig, o: ReferenceTrainOptions): { losses: Float64Array; params: Float64Array } {
  const seed = o.seed ?? 1;
  const batch = o.batch ?? 16;
  const layout = paramLayout(config);
  const p = Float64Array.from(initParams(config, Rng.derive(seed, 0), o.init));
  const m = new Float64Array(p.length);
  const v = new Float64Array(p.length);
  const decay = new Float64Array(p.length);
  for (const e of layout.entries) if (e.decay) decay.fill(1, e.offset, e.offset + e.size);
  const task = new MqarTask({ seqLen: 32, vocabSize: 64, pairs: 4 });
  const data = Rng.derive(seed, 1);
  const run = Math.min(o.steps, o.stopAfter ?? o.steps);
  const losses = new Float64Array(run);
  let window = 0;
  for (let s = 0; s < run; s++) {
    const ex = Array.from({ length: batch }, () => task.sample(data));
    const g = new Float64Array(p.length);
    losses[s] = referenceLossAndGrads(config, layout, p, { ids: ex.map((e) => e.ids), targets: ex.map((e) => e.targets) }, g);
    window += losses[s];
    const norm = Math.sqrt(g.reduce((a, x) => a + x * x, 0));
    const clip = Math.min(1, 1 / norm);
    const lr = learningRate(s, o.steps, o.lr);
    for (let i = 0; i < p.length; i++) {
      const gi = g[i] * clip;
      m[i] = 0.9 * m[i] + 0.1 * gi;
      v[i] = 0.98 * v[i] + 0.02 * gi * gi;
      p[i] -= lr * (m[i] / (1 - 0.9 ** (s + 1)) / (Math.sqrt(v[i] / (1 - 0.98 ** (s + 1))) + 1e-8) + 0.1 * decay[i] * p[i]);
    }
    if ((s + 1) % 100 === 0) {
      o.onLoss?.(s + 1, window / 100);
      window = 0;
    }
  }
  return { losses, params: p };
}
