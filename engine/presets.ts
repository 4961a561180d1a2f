// Named model configurations: the real Hymba-1.5B config and the dense Transformer baselines the Hymba paper
// compares against (its Table 2). Plain TS objects, so they load the same way in the browser and in Node.
//
// A Transformer baseline needs only what sets its KV cache (layers × KV heads × head dim) plus a few sizes for
// the summary. Every baseline's numbers are the model's public Hugging Face config.json; they reproduce the
// paper's "Cache (MB)" column exactly at 8,000 tokens, FP16, MB = 10^6 B (see docs/cache.md).

import { parseConfig, ConfigError, type HymbaConfig } from './config.ts';

export interface TransformerPreset {
  kind: 'transformer';
  name: string;
  layers: number;
  kvHeads: number;
  headDim: number;
  hidden: number;
  heads: number;
  vocab: number;
  intermediate: number;
  tiedEmbeddings?: boolean;
  /** Nominal parameter count as the Hymba paper's Table 2 lists it (rounded to 0.1 B); absent when unknown. */
  params?: number;
  /** The paper's Table 2 "Cache (MB)" value (8k tokens, FP16), for comparison; absent when not in the table. */
  paperCacheMB?: number;
}

export interface HymbaPreset {
  kind: 'hymba';
  name: string;
  description: string;
  /** The config.json object, with the official keys. */
  config: Record<string, unknown>;
  paperCacheMB?: number;
}

export type Preset = HymbaPreset | TransformerPreset;

/** What the cache calculator and the CLI accept: a parsed Hymba config or a Transformer baseline. */
export type ModelSpec = HymbaConfig | TransformerPreset;

export class PresetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PresetError';
  }
}

/** nvidia/Hymba-1.5B-Base config.json (hymba-spec.md §1.1), every key with its published value. */
const hymba15bConfig: Record<string, unknown> = {
  architectures: ['HymbaForCausalLM'],
  attention_dropout: 0.0,
  attn_hidden_size: -1,
  attn_implementation: 'flex',
  attn_implementation_new: 'flex',
  auto_map: {
    AutoConfig: 'configuration_hymba.HymbaConfig',
    AutoModelForCausalLM: 'modeling_hymba.HymbaForCausalLM',
  },
  bos_token_id: 1,
  calc_logits_for_entire_prompt: false,
  conv_dim: Object.fromEntries(Array.from({ length: 32 }, (_, i) => [String(i), 3200])),
  eos_token_id: 2,
  global_attn_idx: [0, 15, 31],
  hidden_act: 'silu',
  hidden_size: 1600,
  initializer_range: 0.02,
  intermediate_size: 5504,
  kq_head_dim: -1,
  kq_norm: 'none',
  kv_reuse_every_i_layer: -1,
  kv_reuse_group: [
    [1, 2],
    [3, 4],
    [5, 6],
    [7, 8],
    [9, 10],
    [11, 12],
    [13, 14],
    [16, 17, 18],
    [19, 20],
    [21, 22],
    [23, 24],
    [25, 26],
    [27, 28],
    [29, 30],
  ],
  kv_weight_reuse: false,
  layer_type: Array(32).fill('h'),
  mamba_conv_bias: true,
  mamba_d_conv: 4,
  mamba_d_state: 16,
  mamba_dt_rank: 100,
  mamba_expand: 2,
  mamba_inner_layernorms: true,
  mamba_proj_bias: false,
  max_position_embeddings: 8192,
  memory_tokens_interspersed_every: 0,
  mlp_hidden_act: 'silu',
  model_type: 'hymba',
  num_attention_heads: 25,
  num_experts: 1,
  num_experts_per_tok: 1,
  num_hidden_layers: 32,
  num_key_value_heads: 5,
  num_mamba: 1,
  num_memory_tokens: 128,
  orig_max_position_embeddings: 2048,
  output_router_logits: false,
  pad_token_id: 0,
  rms_norm_eps: 1e-6,
  rope: true,
  rope_theta: 10000.0,
  rope_type: 'ntk',
  router_aux_loss_coef: 0.001,
  seq_length: 8192,
  sliding_window: 1024,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.44.0',
  use_cache: false,
  use_mamba_kernels: true,
  v_head_dim: 128,
  vocab_size: 32001,
};

function transformer(p: Omit<TransformerPreset, 'kind'>): TransformerPreset {
  return { kind: 'transformer', ...p };
}

export const PRESETS: Record<string, Preset> = {
  'hymba-1.5b': {
    kind: 'hymba',
    name: 'hymba-1.5b',
    description: 'NVIDIA Hymba-1.5B (Base and Instruct share this architecture)',
    config: hymba15bConfig,
    paperCacheMB: 79,
  },
  'llama-3.2-3b': transformer({
    name: 'llama-3.2-3b',
    layers: 28,
    kvHeads: 8,
    headDim: 128,
    hidden: 3072,
    heads: 24,
    vocab: 128256,
    intermediate: 8192,
    tiedEmbeddings: true,
    params: 3.0e9,
    paperCacheMB: 918,
  }),
  'llama-3.2-1b': transformer({
    name: 'llama-3.2-1b',
    layers: 16,
    kvHeads: 8,
    headDim: 64,
    hidden: 2048,
    heads: 32,
    vocab: 128256,
    intermediate: 8192,
    tiedEmbeddings: true,
    params: 1.2e9,
    paperCacheMB: 262,
  }),
  'smollm2-1.7b': transformer({
    name: 'smollm2-1.7b',
    layers: 24,
    kvHeads: 32,
    headDim: 64,
    hidden: 2048,
    heads: 32,
    vocab: 49152,
    intermediate: 8192,
    tiedEmbeddings: true,
    params: 1.7e9,
    paperCacheMB: 1573,
  }),
  'smollm-1.7b': transformer({
    name: 'smollm-1.7b',
    layers: 24,
    kvHeads: 32,
    headDim: 64,
    hidden: 2048,
    heads: 32,
    vocab: 49152,
    intermediate: 8192,
    tiedEmbeddings: true,
    params: 1.7e9,
    paperCacheMB: 1573,
  }),
  'qwen2.5-1.5b': transformer({
    name: 'qwen2.5-1.5b',
    layers: 28,
    kvHeads: 2,
    headDim: 128,
    hidden: 1536,
    heads: 12,
    vocab: 151936,
    intermediate: 8960,
    tiedEmbeddings: true,
    params: 1.5e9,
    paperCacheMB: 229,
  }),
  // Phi-1.5 has no GQA (32 KV heads) and a GELU MLP; only its attention shape matters for the cache.
  'phi-1.5': transformer({
    name: 'phi-1.5',
    layers: 24,
    kvHeads: 32,
    headDim: 64,
    hidden: 2048,
    heads: 32,
    vocab: 51200,
    intermediate: 8192,
    tiedEmbeddings: false,
    params: 1.3e9,
    paperCacheMB: 1573,
  }),
  // Danube2 dropped Danube1's sliding window (sliding_window: null), so its cache grows with every token.
  'h2o-danube2-1.8b': transformer({
    name: 'h2o-danube2-1.8b',
    layers: 24,
    kvHeads: 8,
    headDim: 80,
    hidden: 2560,
    heads: 32,
    vocab: 32000,
    intermediate: 6912,
    tiedEmbeddings: false,
    params: 1.8e9,
    paperCacheMB: 492,
  }),
  'amd-olmo-1b': transformer({
    name: 'amd-olmo-1b',
    layers: 16,
    kvHeads: 16,
    headDim: 128,
    hidden: 2048,
    heads: 16,
    vocab: 50304,
    intermediate: 8192,
    tiedEmbeddings: true,
    params: 1.2e9,
    paperCacheMB: 1049,
  }),
};

export function presetNames(): string[] {
  return Object.keys(PRESETS);
}

/** A preset by name; an unknown name is a PresetError that lists the known ones. */
export function getPreset(name: string): Preset {
  const p = Object.hasOwn(PRESETS, name) ? PRESETS[name] : undefined; // "toString" or "__proto__" is no preset
  if (!p) throw new PresetError(`unknown preset "${name}" (presets: ${presetNames().join(', ')})`);
  return p;
}

export function isTransformer(m: ModelSpec): m is TransformerPreset {
  return (m as TransformerPreset).kind === 'transformer';
}

type Json = Record<string, unknown>;

function positiveInt(raw: Json, key: string): number {
  const v = raw[key];
  if (v === undefined || v === null) throw new ConfigError(key, 'is missing (a positive integer is required)');
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw new ConfigError(key, `expected a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * A Llama-style Hugging Face config.json (Llama, Qwen2, Mistral, Phi, OLMo, SmolLM …) as a Transformer preset.
 * Head dim: `head_dim` when given, else hidden_size / num_attention_heads. KV heads default to the query heads
 * (no GQA), as in the HF classes. `tie_word_embeddings` defaults to false (LlamaConfig's default).
 */
export function transformerFromHfConfig(raw: Json, name = 'transformer'): TransformerPreset {
  const hidden = positiveInt(raw, 'hidden_size');
  const heads = positiveInt(raw, 'num_attention_heads');
  const kvHeads =
    raw.num_key_value_heads === undefined || raw.num_key_value_heads === null ? heads : positiveInt(raw, 'num_key_value_heads');
  if (heads % kvHeads !== 0) throw new ConfigError('num_key_value_heads', `${kvHeads} does not divide num_attention_heads ${heads}`);
  let headDim: number;
  if (raw.head_dim !== undefined && raw.head_dim !== null) headDim = positiveInt(raw, 'head_dim');
  else {
    if (hidden % heads !== 0)
      throw new ConfigError('hidden_size', `${hidden} is not divisible by num_attention_heads ${heads} (and there is no head_dim)`);
    headDim = hidden / heads;
  }
  const tied = raw.tie_word_embeddings ?? false;
  if (typeof tied !== 'boolean') throw new ConfigError('tie_word_embeddings', `expected true or false, got ${JSON.stringify(tied)}`);
  return {
    kind: 'transformer',
    name,
    layers: positiveInt(raw, 'num_hidden_layers'),
    kvHeads,
    headDim,
    hidden,
    heads,
    vocab: positiveInt(raw, 'vocab_size'),
    intermediate: positiveInt(raw, 'intermediate_size'),
    tiedEmbeddings: tied,
  };
}

const TRANSFORMER_SIZES = ['layers', 'kvHeads', 'headDim', 'hidden', 'heads', 'vocab', 'intermediate'] as const;

function checkTransformer(t: TransformerPreset): TransformerPreset {
  for (const k of TRANSFORMER_SIZES) {
    if (!Number.isInteger(t[k]) || t[k] < 1)
      throw new PresetError(`transformer "${t.name}": "${k}" must be a positive integer, got ${JSON.stringify(t[k])}`);
  }
  return t;
}

/** Hymba configs say model_type "hymba"; a config without model_type counts as Hymba if it has Hymba's keys. */
function looksLikeHymba(raw: Json): boolean {
  if (raw.model_type !== undefined) return raw.model_type === 'hymba';
  return ['mamba_d_state', 'num_memory_tokens', 'kv_reuse_group', 'global_attn_idx'].some((k) => k in raw);
}

/**
 * Anything that names a model, as a ModelSpec: a preset name, config.json text, a parsed config object (Hymba or
 * Llama-style; told apart by model_type), or an existing TransformerPreset. `name` labels a Transformer made
 * from a config object. Errors: PresetError (unknown name) or ConfigError (bad config, naming the key).
 */
export function resolveConfig(x: string | Json | TransformerPreset, name?: string): ModelSpec {
  if (typeof x === 'string') {
    if (!x.trimStart().startsWith('{')) {
      const p = getPreset(x);
      return p.kind === 'hymba' ? parseConfig(p.config) : p;
    }
    try {
      x = JSON.parse(x) as Json;
    } catch (e) {
      throw new ConfigError('(file)', `not valid JSON: ${(e as Error).message}`);
    }
  }
  if (x === null || typeof x !== 'object' || Array.isArray(x)) throw new ConfigError('(file)', 'expected a JSON object');
  if ((x as TransformerPreset).kind === 'transformer') return checkTransformer(x as TransformerPreset);
  const raw = x as Json;
  return looksLikeHymba(raw)
    ? parseConfig(raw)
    : transformerFromHfConfig(raw, name ?? (typeof raw._name_or_path === 'string' ? raw._name_or_path : undefined));
}
