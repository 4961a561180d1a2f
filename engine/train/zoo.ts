// The trained model zoo the lessons run on: Hymba's design roadmap (paper Table 1 / Table 10) in miniature, twice:
// the synthetic zoo (the old names: attention, ssm, …) trained on a mixture of MQAR-128, selective copying and the
// majority task, and the English zoo (en-attention, en-ssm, …) trained as tiny language models on the Brown corpus.
// Every model: d_model 64, 4 layers, 2 query heads (head dim 32) sharing 1 KV head (GQA), d_inner 128, SSM state 16,
// conv 4. The MLP width is chosen per model so the parameter counts of one zoo stay within ±5 % of each other.
//
// No Q/K/V conv (lab_qkv_conv is off, as in Hymba). The previous zoo needed it to leave the MQAR-128 plateau; here a
// conv variant of every design with attention (`attention-conv` … `hymba-conv`, 3 seeds each) is trained beside the zoo
// as a shown finding, not as part of the recipe.
//
// ONE hyper-parameter rule for every model (docs/zoo.md): ZOO_RULE's lr, steps, batch, schedule and seeds; nothing
// is tuned per model. The lr is the value the previous zoo used for most of its models (3e-3), not tuned on these
// tasks.

import { MAJORITY_128, MajorityTask } from '../tasks/majority.ts';
import { MQAR_128, MqarTask } from '../tasks/mqar.ts';
import { SelectiveCopyTask } from '../tasks/selective-copy.ts';
import type { Task } from '../tasks/types.ts';
import { MixtureTask } from './mixture.ts';

export type ZooName = 'synthetic' | 'english';

export interface ZooEntry {
  name: string;
  /** The roadmap step (ROADMAP below); the same for a synthetic model and its English twin. */
  role: string;
  zoo: ZooName;
  /** Always ZOO_RULE.lr (kept per entry for the train lab). */
  lr: number;
  description: string;
  config: Record<string, unknown>;
  /** A variant shown as a finding (e.g. with the Q/K/V conv), not a step of the roadmap. */
  finding?: string;
}

/**
 * The one rule: every model of both zoos trains with these settings (AdamW β (0.9, 0.98), weight decay 0.1,
 * clip 1, 5 % warmup × cosine: trainer.ts), seeds 1, 2, 3. Steps per zoo come from one rule too: the slowest job's
 * rate in a probe of all jobs at once on the GPU machine × the seconds the call leaves (scripts/device-zoo.sh
 * BUDGET), rounded down to 100; these are the values that rule gave on the H100 (docs/zoo.md).
 */
export const ZOO_RULE = {
  lr: 3e-3,
  seeds: [1, 2, 3],
  /** Steps × batch per zoo: the same for every model of a zoo. */
  budget: { synthetic: { steps: 1600, batch: 64 }, english: { steps: 800, batch: 64 } } as Record<
    ZooName,
    { steps: number; batch: number }
  >,
};
/** The CLI's defaults for `--zoo NAME` (seed 1: the shipped weights). */
export const ZOO_BUDGET = { ...ZOO_RULE.budget.synthetic, seed: 1 };

const LAYERS = 4;
/** Every windowed layer of every model of a zoo (swa and the local layers of the roadmap), one value per zoo: the
 * English zoo's 128-token windows take 32; the synthetic zoo's 128-token tasks take 16, so that 4 windowed layers
 * reach 60 tokens back, short of majority-128's 64-token quiet tail and of MQAR's far keys (≥ 64 back). */
const WINDOW = { synthetic: 16, english: 32 } as const;

const BASE = {
  architectures: ['HymbaForCausalLM'],
  model_type: 'hymba',
  hidden_size: 64,
  num_hidden_layers: LAYERS,
  layer_type: Array(LAYERS).fill('h'),
  num_attention_heads: 2,
  num_key_value_heads: 1,
  attn_hidden_size: -1,
  kq_head_dim: -1,
  kq_norm: 'none',
  vocab_size: 512,
  mamba_expand: 2,
  mamba_d_state: 16,
  mamba_d_conv: 4,
  mamba_dt_rank: 4,
  mamba_conv_bias: true,
  mamba_proj_bias: false,
  mamba_inner_layernorms: true,
  num_mamba: 1,
  num_experts: 1,
  num_experts_per_tok: 1,
  hidden_act: 'silu',
  mlp_hidden_act: 'silu',
  rope: true,
  rope_type: 'default',
  rope_theta: 10000,
  max_position_embeddings: 256,
  orig_max_position_embeddings: 256,
  rms_norm_eps: 1e-6,
  tie_word_embeddings: true,
  num_memory_tokens: 0,
  memory_tokens_interspersed_every: 0,
  sliding_window: WINDOW.english,
  global_attn_idx: [0, 1, 2, 3],
  kv_reuse_group: [] as number[][],
  kv_reuse_every_i_layer: -1,
  bos_token_id: 1,
  eos_token_id: 2,
  pad_token_id: 0,
  torch_dtype: 'float32',
};

/** The synthetic mixture: MQAR-128 (4–24 pairs), selective copying of 16 tokens in 128 and majority-128, weighted
 * so the one-answer majority task is drawn twice as often as each of the others (its example has 1 loss row, MQAR's
 * 4–24). 128 tokens: the 512- and 256-token mixtures stayed at chance in the steps one GPU call allows (docs/zoo.md). */
export function syntheticTask(): MixtureTask {
  return new MixtureTask('synthetic-128', [
    { task: new MqarTask(MQAR_128), weight: 1 },
    { task: new SelectiveCopyTask(), weight: 1 },
    { task: new MajorityTask(MAJORITY_128), weight: 2 },
  ]);
}

/** The task a zoo entry trains on. */
export function zooTask(entry: ZooEntry): Task {
  if (entry.zoo === 'synthetic') return syntheticTask();
  throw new Error(`the English zoo trains on the Brown corpus stream: loadEnglishData() (engine/text/english.node.ts, Node only)`);
}

interface Step {
  role: string;
  /** What the step is, for a model whose windowed layers use `window` (so a text cannot name another window). */
  description: (window: number) => string;
  /** Config keys on top of the zoo's base. */
  keys: Record<string, unknown>;
  /** MLP width per zoo, for equal parameters. */
  mlp: number;
}

const hybrid = Array(LAYERS).fill('hybrid');
const ROADMAP: Step[] = [
  {
    role: 'attention',
    description: () =>
      'Transformer: 4 global attention layers, no SSM. Exact recall at any distance; its KV cache grows with the sequence.',
    keys: { lab_mixers: Array(LAYERS).fill('attention') },
    mlp: 192,
  },
  {
    role: 'ssm',
    description: () => 'Mamba-style: 4 SSM-only layers. A fixed-size state: cheap, but recall of many pairs fails.',
    keys: { lab_mixers: Array(LAYERS).fill('ssm') },
    mlp: 128,
  },
  {
    role: 'swa',
    description: (w) => `4 sliding-window attention layers (window ${w}), no global layer: exact nearby, blind beyond the window.`,
    keys: { lab_mixers: Array(LAYERS).fill('attention'), global_attn_idx: [] },
    mlp: 192,
  },
  {
    role: 'sequential',
    description: () => 'Roadmap A: attention heads added sequentially — SSM and global attention in alternate layers.',
    keys: { lab_mixers: ['ssm', 'attention', 'ssm', 'attention'] },
    mlp: 160,
  },
  {
    role: 'parallel',
    description: () => 'Roadmap B: hybrid heads — attention ∥ SSM in every layer, all attention global.',
    keys: { lab_mixers: hybrid },
    mlp: 64,
  },
  {
    role: 'parallel-swa',
    description: (w) => `Roadmap C: local/global attention — layers 1, 2 use a window of ${w}; the first and last stay global.`,
    keys: { lab_mixers: hybrid, global_attn_idx: [0, 3] },
    mlp: 64,
  },
  {
    role: 'parallel-swa-kv',
    description: () => 'Roadmap D: cross-layer KV sharing — layer 2 attends with layer 1’s keys and values.',
    keys: { lab_mixers: hybrid, global_attn_idx: [0, 3], kv_reuse_group: [[1, 2]] },
    mlp: 64,
  },
  {
    role: 'hymba',
    description: () => 'Roadmap E = Hymba: parallel heads, local/global attention, KV sharing and 8 learned meta tokens.',
    keys: { lab_mixers: hybrid, global_attn_idx: [0, 3], kv_reuse_group: [[1, 2]], num_memory_tokens: 8 },
    mlp: 64,
  },
];

const SYNTHETIC_BASE = {
  vocab_size: 512,
  max_position_embeddings: 1024,
  orig_max_position_embeddings: 1024,
  sliding_window: WINDOW.synthetic,
};

export const SYNTHETIC_ZOO: ZooEntry[] = ROADMAP.map((s) => ({
  name: s.role,
  role: s.role,
  zoo: 'synthetic',
  lr: ZOO_RULE.lr,
  description: s.description(WINDOW.synthetic),
  config: { ...BASE, ...SYNTHETIC_BASE, ...s.keys, intermediate_size: s.mlp },
}));

/**
 * A roadmap step's description for the model a config describes (its sliding_window). Whatever shows a shipped model
 * describes it from the shipped config.json, not from the recipe, so the text stays true for a folder trained with
 * another window than the recipe's.
 */
export function describeRole(role: string, config: Record<string, unknown>): string {
  const step = ROADMAP.find((s) => s.role === role);
  if (!step) throw new Error(`no roadmap step "${role}" (steps: ${ROADMAP.map((s) => s.role).join(', ')})`);
  const window = config.sliding_window;
  if (typeof window !== 'number') throw new Error(`the config of "${role}" has no numeric sliding_window`);
  return step.description(window);
}

/** Every synthetic design with attention plus the width-2 Q/K/V conv of the previous zoo (lab_qkv_conv 2, Primer's
 * multi-dconv-head attention): the conv finding, trained beside the zoo (one seed). `ssm` has no attention, so no
 * twin. */
export const CONV_FINDINGS: ZooEntry[] = SYNTHETIC_ZOO.filter((e) => e.role !== 'ssm').map((e) => ({
  ...e,
  name: `${e.name}-conv`,
  description: `${e.description} Plus a width-2 causal conv over Q/K/V (not part of Hymba; trained to show what it changes).`,
  config: { ...e.config, lab_qkv_conv: 2 },
  finding: 'qkv-conv',
}));

/** The English zoo: the same roadmap as tiny language models (vocab 2,048 word pieces, 128-token windows). */
const ENGLISH_BASE = { vocab_size: 2048, max_position_embeddings: 256, orig_max_position_embeddings: 256 };

export const ENGLISH_ZOO: ZooEntry[] = ROADMAP.map((s) => ({
  name: `en-${s.role}`,
  role: s.role,
  zoo: 'english',
  lr: ZOO_RULE.lr,
  description: `${s.description(WINDOW.english)} Trained as a language model on the Brown corpus.`,
  config: { ...BASE, ...ENGLISH_BASE, ...s.keys, intermediate_size: s.mlp },
}));

export const ZOO: ZooEntry[] = [...SYNTHETIC_ZOO, ...CONV_FINDINGS, ...ENGLISH_ZOO];

/**
 * The names the site's pickers and the lessons list: the synthetic zoo's, in roadmap order, then the conv findings
 * (every design with attention plus the Q/K/V conv, 3 seeds each: docs/zoo.md). Each has a folder under models/. The en-* models answer English,
 * not the synthetic tasks the pickers run.
 */
export const ZOO_NAMES: readonly string[] = [...SYNTHETIC_ZOO.map((e) => e.name), ...CONV_FINDINGS.map((e) => e.name)];
