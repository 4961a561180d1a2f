// What every backend (CPU reference, WebGPU) offers, and the names of the intermediates ("taps") it can return.
//
// Tap names (stable; widgets and tests read tensors only by these names). N = M + n rows (meta rows included,
// M = 0 when meta tokens are off), n text tokens, E = d_inner, S = d_state, H = heads of the layer:
//   hidden_states.k            [N, D]   k = 0: layer-0 input (meta ; embeddings); 1..L−1: residual stream after
//                                       layer k−1; k = L: final_layernorm of the last layer's output (HF convention)
//   layers.i.input_norm        [N, D]   RMSNorm before the mixer
//   layers.i.in_proj           [N, R]   the fused projection, rows Q | K | V | x | z
//   layers.i.attn.qkv_conv     [N, C]   with lab_qkv_conv only: the causal depthwise conv of in_proj's first C =
//                                       qkvColumns columns (Q | own K | own V); attn.q/.k/.v are read from it
//   layers.i.attn.q / .k / .v  [N, H·dqk] / [N, Hkv·dqk] / [N, Hkv·dv]   after RoPE (k, v only on KV owners)
//   layers.i.attn.probs        [H, N, N] attention probabilities (exact, unfused)
//   layers.i.attn_out          [N, E]   attention branch output (head-major)
//   layers.i.ssm.x             [N, E]   SSM input before the conv
//   layers.i.ssm.conv          [N, E]   after the causal conv + SiLU
//   layers.i.ssm.dt            [N, E]   Δ after softplus
//   layers.i.ssm.B / .C        [N, S]
//   layers.i.ssm.state         [E, S]   the SSM state after the last token
//   layers.i.ssm.states        [N, E, S] the state after every token
//   layers.i.ssm_out           [N, E]   (scan + D·x) ⊙ SiLU(z)
//   layers.i.fused             [N, E]   (β1·norm(attn) + β2·norm(ssm)) / 2
//   layers.i.mixer_out         [N, D]   out_proj(fused), before the residual add
//   layers.i.mlp_out           [N, D]   SwiGLU output, before the residual add
//   last_layer_output          [N, D]   the last layer's output before final_layernorm
//   logits                     [n, V]   text positions only

import type { HymbaConfig } from './config.ts';
import type { Ablation } from './ablation.ts';
import type { Tensor } from './tensor.ts';

export interface ForwardOptions {
  /** Prepend the learned meta tokens (default true). Off: the sequence is just the text, positions from 0. */
  meta?: boolean;
  /** Sliding window for the non-global layers (default: the config's). */
  window?: number;
  /** Heads / branches whose β share is zeroed (see ablation.ts). */
  ablation?: Ablation;
  /** Tap names or patterns with `*` (e.g. `layers.*.attn_out`) to return besides the logits. */
  taps?: string[];
}

export interface ForwardResult {
  logits: Tensor;
  taps: Map<string, Tensor>;
}

/** One sequence of a batched forward (Engine.forwardBatch). */
export interface BatchItem {
  /** Text token ids; every item of a batch has the same number. */
  ids: number[];
  /** Text positions whose logits are wanted, in the order they are returned. */
  positions: number[];
  /** This sequence's ablation (default: none); items of one batch may differ. */
  ablation?: Ablation;
}

/** The options of a forward pass that a whole batch shares. */
export type BatchOptions = Pick<ForwardOptions, 'meta' | 'window'>;

/** One executed op of a step-by-step forward pass. */
export interface Step {
  /** Index of this op in the pass and the number of ops in all. */
  index: number;
  total: number;
  /** What was just computed, e.g. "layers.3.attn_out". */
  name: string;
  layer: number | null;
  /** Read any tap computed so far (this op's or an earlier one's). */
  read(name: string): Promise<Tensor>;
}

export interface Engine {
  readonly backend: 'cpu' | 'webgpu';
  readonly config: HymbaConfig;
  forward(ids: number[], opts?: ForwardOptions): Promise<ForwardResult>;
  /**
   * Optional (the WebGPU engine has it): many equal-length sequences in a few passes instead of one each. Returns,
   * per item, the logits [positions.length, V] at its positions: the rows `forward` would return there.
   */
  forwardBatch?(items: BatchItem[], opts?: BatchOptions): Promise<Tensor[]>;
  /** Sequences per forwardBatch call that keep one call short on this device (callers chunk by it for progress). */
  readonly batchHint?: number;
  /** The same pass, one op at a time: each iteration runs one op and pauses. */
  steps(ids: number[], opts?: ForwardOptions): AsyncGenerator<Step>;
  dispose(): void;
}

export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** Check token ids against the vocabulary and the position limit. */
export function validateIds(config: HymbaConfig, ids: number[], meta: boolean): void {
  if (ids.length === 0) throw new InputError('the prompt is empty: give at least one token id');
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= config.vocabSize) {
      throw new InputError(`token id ${id} at position ${i} is outside the vocabulary 0..${config.vocabSize - 1}`);
    }
  }
  const M = meta ? config.numMetaTokens : 0;
  if (M + ids.length > config.maxPositionEmbeddings + config.numMetaTokens) {
    throw new InputError(`the prompt has ${ids.length} tokens; this model takes at most ${config.maxPositionEmbeddings}`);
  }
}

/** Every tap name a config offers (for widgets, docs and pattern matching). */
export function tapNames(config: HymbaConfig): string[] {
  const names: string[] = [];
  for (let k = 0; k <= config.numLayers; k++) names.push(`hidden_states.${k}`);
  for (const l of config.layers) {
    const p = `layers.${l.index}.`;
    names.push(p + 'input_norm', p + 'in_proj');
    if (l.hasAttention) {
      if (l.qkvConv > 0) names.push(p + 'attn.qkv_conv');
      names.push(p + 'attn.q');
      if (l.ownsKv) names.push(p + 'attn.k', p + 'attn.v');
      names.push(p + 'attn.probs', p + 'attn_out');
    }
    if (l.hasSsm) {
      for (const s of ['ssm.x', 'ssm.conv', 'ssm.dt', 'ssm.B', 'ssm.C', 'ssm.state', 'ssm.states', 'ssm_out']) names.push(p + s);
    }
    names.push(p + 'fused', p + 'mixer_out', p + 'mlp_out');
  }
  names.push('last_layer_output', 'logits');
  return names;
}

/** Expand tap patterns (`*` matches one dot-free segment or any run of characters) against the known names. */
export function matchTaps(config: HymbaConfig, patterns: string[] | undefined): Set<string> {
  const wanted = new Set<string>();
  if (!patterns) return wanted;
  const all = tapNames(config);
  for (const p of patterns) {
    if (!p.includes('*')) {
      if (!all.includes(p)) throw new InputError(`unknown tap "${p}" (e.g. layers.0.attn_out, hidden_states.0, logits)`);
      wanted.add(p);
      continue;
    }
    const re = new RegExp(
      '^' +
        p
          .split('*')
          .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('[^.]*') +
        '$',
    );
    for (const n of all) if (re.test(n)) wanted.add(n);
  }
  return wanted;
}
