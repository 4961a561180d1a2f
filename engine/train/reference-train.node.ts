// A small float64 CPU training loop over the reference (engine/train/reference.ts), the same recipe as the GPU
// trainer (AdamW 0.9/0.98, wd 0.1, clip 1, warmup × cosine). Slow (~0.2 s per step on a small MQAR) but needs no
// GPU: it is for architecture experiments at small scale, e.g. which layer layouts learn MQAR at all.
//   node engine/train/reference-train.node.ts MIXERS LR STEPS [CONFIG_JSON_OVERRIDES]
//   e.g. … ssm,attention 3e-3 1500        … hybrid,hybrid 3e-3 1500 '{"num_memory_tokens":2}'
// Env BETA2=x starts the SSM fusion gain of hybrid layers at x. Prints the mean loss every 100 steps.
import { parseConfig } from '../config.ts';
import { Rng } from '../tasks/rng.ts';
import { MqarTask } from '../tasks/mqar.ts';
import { initParams, paramLayout } from './params.ts';
import { referenceLossAndGrads } from './reference.ts';
import { learningRate } from './trainer.ts';

const [mix, lrArg, stepsArg, extra] = process.argv.slice(2);
if (!mix || !lrArg || !stepsArg) throw new Error('usage: reference-train.node.ts MIXERS LR STEPS [CONFIG_JSON_OVERRIDES]');
const mixers = mix.split(',');
const config = parseConfig({
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
  ...(extra ? JSON.parse(extra) : {}),
});
const layout = paramLayout(config);
const p = Float64Array.from(initParams(config, Rng.derive(1, 0)));
const beta2 = Number(process.env.BETA2 ?? 1);
for (const e of layout.entries) {
  const layer = config.layers[Number(e.name.split('.')[2])];
  if (e.name.endsWith('pre_avg_layernorm2.weight') && layer.hasAttention) p.fill(beta2, e.offset, e.offset + e.size);
}
const m = new Float64Array(p.length);
const v = new Float64Array(p.length);
const decay = new Float64Array(p.length);
for (const e of layout.entries) if (e.decay) decay.fill(1, e.offset, e.offset + e.size);
const task = new MqarTask({ seqLen: 32, vocabSize: 64, pairs: 4 });
const data = Rng.derive(1, 1);
const steps = Number(stepsArg);
const lr = Number(lrArg);
let window = 0;
for (let s = 0; s < steps; s++) {
  const ex = Array.from({ length: 16 }, () => task.sample(data));
  const g = new Float64Array(p.length);
  window += referenceLossAndGrads(config, layout, p, { ids: ex.map((e) => e.ids), targets: ex.map((e) => e.targets) }, g);
  const norm = Math.sqrt(g.reduce((a, x) => a + x * x, 0));
  const clip = Math.min(1, 1 / norm);
  const a = learningRate(s, steps, lr);
  for (let i = 0; i < p.length; i++) {
    const gi = g[i] * clip;
    m[i] = 0.9 * m[i] + 0.1 * gi;
    v[i] = 0.98 * v[i] + 0.02 * gi * gi;
    p[i] -= a * (m[i] / (1 - 0.9 ** (s + 1)) / (Math.sqrt(v[i] / (1 - 0.98 ** (s + 1))) + 1e-8) + 0.1 * decay[i] * p[i]);
  }
  if ((s + 1) % 100 === 0) {
    console.log(`${mix} step ${s + 1} loss ${(window / 100).toFixed(3)}`);
    window = 0;
  }
}
