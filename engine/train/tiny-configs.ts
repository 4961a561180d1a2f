// Tiny configs that together exercise every op and every wiring of the training graph (used by the gradient
// checks; small enough for finite differences in float64 and for SwiftShader).

export const TINY_HYBRID = {
  model_type: 'hymba',
  hidden_size: 8,
  num_hidden_layers: 3,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  intermediate_size: 12,
  vocab_size: 11,
  mamba_expand: 2,
  mamba_d_state: 4,
  mamba_d_conv: 3,
  mamba_dt_rank: 2,
  num_memory_tokens: 2,
  sliding_window: 3,
  global_attn_idx: [0],
  kv_reuse_group: [[1, 2]],
  rope_theta: 10000,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-6,
  tie_word_embeddings: true,
};

/** Attention-only, SSM-only and hybrid layers in one model; no meta tokens. */
export const TINY_MIXED = {
  ...TINY_HYBRID,
  num_memory_tokens: 0,
  num_attention_heads: 2,
  num_key_value_heads: 2,
  global_attn_idx: [0, 2],
  kv_reuse_group: [],
  lab_mixers: ['attention', 'ssm', 'hybrid'],
};

/** TINY_HYBRID with lab_qkv_conv: the Q/K/V short conv on an owner, a KV-sharing consumer (Q only) and meta tokens. */
export const TINY_QKV_CONV = { ...TINY_HYBRID, lab_qkv_conv: 2 };
