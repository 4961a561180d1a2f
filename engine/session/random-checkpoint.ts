// A Hymba checkpoint with seeded random weights for any config: for tests that need configs the golden models do
// not cover (windows that wrap many times, no meta tokens, SSM-only or attention-only layers, lab_qkv_conv) and for the
// benchmark's lesson-sized model. The draws follow the golden models' README (norm gains 1 + N(0, 0.2²), Mamba's
// A and Δ initialisations, linear layers N(0, 1/fan_in)), so activations stay in a realistic range.

import { expectedTensors, type HymbaConfig } from '../config.ts';
import type { Checkpoint, Weight } from '../checkpoint/load.ts';
import { mulberry32 } from '../sampling.ts';

export function randomCheckpoint(c: HymbaConfig, seed = 0): Checkpoint {
  const uniform = mulberry32(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  const weights = new Map<string, Weight>();
  for (const [name, shape] of expectedTensors(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const fill = (f: (i: number) => number) => {
      for (let i = 0; i < n; i++) data[i] = f(i);
    };
    if (name.endsWith('norm.weight') || name.endsWith('layernorm1.weight') || name.endsWith('layernorm2.weight'))
      fill(() => 1 + 0.2 * normal());
    else if (name === 'model.embed_tokens.weight' || name === 'lm_head.weight') fill(() => 0.5 * normal());
    else if (name === 'model.memory_tokens') fill(() => normal());
    else if (name.endsWith('A_log.0')) fill((i) => Math.log(1 + (i % c.dState)) + 0.1 * normal());
    else if (name.endsWith('D.0')) fill(() => 1 + 0.3 * normal());
    else if (name.endsWith('conv1d.weight')) fill(() => 0.4 * normal());
    else if (name.endsWith('conv1d.bias')) fill(() => 0.2 * normal());
    else if (name.endsWith('qkv_conv.weight')) {
      // [columns, 1, W]: the current token's tap near 1 and the earlier ones small, so Q/K/V keep their scale while
      // still mixing in the previous tokens.
      const width = shape[2];
      fill((i) => (i % width === width - 1 ? 1 : 0) + 0.3 * normal());
    } else if (name.endsWith('dt_proj.0.bias')) {
      // Δ = softplus(bias) log-uniform in [0.01, 0.3]: bias = Δ + log(1 − e^−Δ), the inverse softplus.
      fill(() => {
        const dt = Math.exp(Math.log(0.01) + uniform() * (Math.log(0.3) - Math.log(0.01)));
        return dt + Math.log(-Math.expm1(-dt));
      });
    } else if (name.endsWith('dt_proj.0.weight')) fill(() => (2 * uniform() - 1) / Math.sqrt(c.dtRank));
    else fill(() => normal() / Math.sqrt(shape[shape.length - 1])); // a linear layer [out, in]: N(0, 1/fan_in)
    weights.set(name, { name, dtype: 'F32', shape, bytes: new Uint8Array(data.buffer) });
  }
  return { config: c, weights, label: `random(seed ${seed})` };
}
