// The trainable parameters of a Hymba config as ONE flat float32 array (official tensor names at fixed offsets),
// so the optimizer, the gradient norm and the upload are one buffer each. Offsets are multiples of 64 floats
// (256 bytes, WebGPU's storage-buffer offset alignment), so every tensor can be bound on its own.
//
// Initialisation (Mamba / GPT-2 style; hymba-spec.md has no training recipe for the toy models):
//   embed_tokens, memory_tokens, in_proj, x_proj, gate/up: N(0, 0.02)
//   out_proj, down_proj: N(0, 0.02 / sqrt(2 · layers))   (GPT-2's scaling of residual-branch outputs)
//   dt_proj.weight: U(−r^−½, r^−½), r = dt_rank;   dt_proj.bias = softplus⁻¹(dt), dt log-uniform in [1e−3, 1e−1]
//   conv1d weight and bias: U(−1/√K, 1/√K) (PyTorch's Conv1d default, fan_in = K)
//   qkv_conv (lab_qkv_conv): the identity, every weight on the current token
//   A_log[c, n] = log(n + 1);  D = 1;  every RMSNorm gain = 1
// Weight decay applies to the matrices that multiply activations (linears, embeddings, conv kernel) and NOT to
// RMSNorm gains, biases, A_log, D (Mamba's _no_weight_decay) or the meta tokens (a learned state initialisation:
// decaying it would pull the attention sink towards the zero vector).

import { expectedTensors, type HymbaConfig } from '../config.ts';
import type { Rng } from '../tasks/rng.ts';

export interface ParamEntry {
  name: string;
  shape: number[];
  offset: number;
  size: number;
  decay: boolean;
}

export interface ParamLayout {
  entries: ParamEntry[];
  byName: Map<string, ParamEntry>;
  /** Floats in the flat buffer, padding included. */
  total: number;
  /** Real parameters (no padding). */
  count: number;
}

const ALIGN = 64;

export function isDecayed(name: string): boolean {
  if (/layernorm|_norm|norm\.weight/.test(name)) return false;
  if (name.endsWith('.bias') || name.includes('A_log') || name.includes('.D.') || name === 'model.memory_tokens') return false;
  return true;
}

export function paramLayout(config: HymbaConfig): ParamLayout {
  const entries: ParamEntry[] = [];
  let at = 0;
  let count = 0;
  for (const [name, shape] of expectedTensors(config)) {
    const size = shape.reduce((a, b) => a * b, 1);
    entries.push({ name, shape, offset: at, size, decay: isDecayed(name) });
    at += Math.ceil(size / ALIGN) * ALIGN;
    count += size;
  }
  return { entries, byName: new Map(entries.map((e) => [e.name, e])), total: at, count };
}

/** A view of one tensor inside the flat array. */
export function view(layout: ParamLayout, flat: Float32Array | Float64Array, name: string): Float32Array | Float64Array {
  const e = layout.byName.get(name);
  if (!e) throw new Error(`parameter ${name} is not in this model`);
  return flat.subarray(e.offset, e.offset + e.size);
}

/** Spreads of the normal initialisations (defaults: the GPT-2 values above). */
export interface InitSpread {
  /** embed_tokens and memory_tokens. */
  embedStd?: number;
  /** in_proj, x_proj, gate/up. */
  linearStd?: number;
  /** out_proj, down_proj (before the 1/sqrt(2·layers) scaling). */
  residualStd?: number;
}

export function initParams(config: HymbaConfig, rng: Rng, spread: InitSpread = {}): Float32Array {
  const layout = paramLayout(config);
  const flat = new Float32Array(layout.total);
  const residualStd = (spread.residualStd ?? 0.02) / Math.sqrt(2 * config.numLayers);
  const embedStd = spread.embedStd ?? 0.02;
  const linearStd = spread.linearStd ?? 0.02;
  for (const e of layout.entries) {
    const p = flat.subarray(e.offset, e.offset + e.size);
    const n = e.name;
    if (/layernorm\d?\.weight$/.test(n) || n.endsWith('.D.0'))
      p.fill(1); // incl. the fusion gains β1/β2 (pre_avg_layernorm1/2)
    else if (n.endsWith('A_log.0')) {
      const S = config.dState;
      for (let i = 0; i < p.length; i++) p[i] = Math.log((i % S) + 1);
    } else if (n.endsWith('dt_proj.0.bias')) {
      for (let i = 0; i < p.length; i++) {
        const dt = Math.max(1e-4, Math.exp(Math.log(1e-3) + rng.uniform() * (Math.log(1e-1) - Math.log(1e-3))));
        p[i] = dt + Math.log(-Math.expm1(-dt)); // softplus⁻¹(dt)
      }
    } else if (n.endsWith('dt_proj.0.weight')) {
      const r = config.dtRank ** -0.5;
      for (let i = 0; i < p.length; i++) p[i] = (2 * rng.uniform() - 1) * r;
    } else if (n.endsWith('qkv_conv.weight')) {
      // Starts as the identity (all weight on the current token): plain attention until training shifts it.
      const K = e.shape[2];
      for (let i = 0; i < p.length; i++) p[i] = i % K === K - 1 ? 1 : 0;
    } else if (n.includes('conv1d')) {
      const r = 1 / Math.sqrt(config.dConv);
      for (let i = 0; i < p.length; i++) p[i] = (2 * rng.uniform() - 1) * r;
    } else {
      const std =
        n.endsWith('out_proj.weight') || n.endsWith('down_proj.weight')
          ? residualStd
          : n === 'model.embed_tokens.weight' || n === 'model.memory_tokens'
            ? embedStd
            : linearStd;
      for (let i = 0; i < p.length; i++) p[i] = rng.normal() * std;
    }
  }
  return flat;
}

/** The tensors of a flat parameter array, by official name (for writeSafetensors and the CPU engine). */
export function paramTensors(
  layout: ParamLayout,
  flat: Float32Array,
): Array<{ name: string; dtype: 'F32'; shape: number[]; data: Float32Array }> {
  return layout.entries.map((e) => ({
    name: e.name,
    dtype: 'F32' as const,
    shape: e.shape,
    data: flat.slice(e.offset, e.offset + e.size),
  }));
}
