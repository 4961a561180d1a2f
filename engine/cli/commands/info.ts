// `npm run hymba -- info (--model DIR | --preset NAME) [--json]`: what a model is — sizes, the layer map
// (global/SWA, KV owner or consumer, mixer), parameter count and the tensors a checkpoint must hold.
// Reads only config.json; the weights are not needed.
import path from 'node:path';
import { UsageError, type Args, type Command } from '../args.ts';
import { ConfigError, expectedTensors, parameterCount, type HymbaConfig } from '../../config.ts';
import { folderFiles } from '../../checkpoint/folder.node.ts';
import { isTransformer, presetNames, resolveConfig, type ModelSpec, type TransformerPreset } from '../../presets.ts';

export class ModelSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelSourceError';
  }
}

export interface LoadedModel {
  /** How to call it in messages: the preset name or the path it came from. */
  label: string;
  model: ModelSpec;
}

async function readConfigText(file: string): Promise<string> {
  const src = await folderFiles(path.dirname(file)).open(path.basename(file));
  if (!src) throw new ModelSourceError(`${file}: no such file`);
  return new TextDecoder().decode(await src.read(0, src.size));
}

function parseAt(file: string, text: string, name: string): ModelSpec {
  try {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new ConfigError('(file)', `not valid JSON: ${(e as Error).message}`);
    }
    return resolveConfig(raw as Record<string, unknown>, name);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(e.key, `${e.message.replace(/^config\.json: "[^"]*": /, '')} (in ${file})`);
    throw e;
  }
}

/** The model named by exactly one of --model DIR, --config FILE (when `allowConfig`) or --preset NAME. */
export async function loadModel(args: Args, allowConfig: boolean): Promise<LoadedModel> {
  const sources = ['model', 'preset', ...(allowConfig ? ['config'] : [])].filter((f) => args.has(f));
  const names = allowConfig ? '--model DIR, --config FILE or --preset NAME' : '--model DIR or --preset NAME';
  if (sources.length !== 1) throw new UsageError(`give exactly one of ${names}`);
  const preset = args.string('preset');
  if (preset !== undefined) return { label: preset, model: resolveConfig(preset) };
  // A Transformer config is named after its folder (--model) or its file (--config).
  const dir = args.string('model');
  const file = dir !== undefined ? path.join(dir, 'config.json') : args.required('config');
  const name = dir !== undefined ? path.basename(path.resolve(dir)) : path.basename(file, '.json');
  return { label: file, model: parseAt(file, await readConfigText(file), name) };
}

const fmt = (n: number) => n.toLocaleString('en-US');

interface LayerRow {
  layer: number;
  attention: 'global' | 'swa' | 'none';
  kv: 'owner' | 'consumer' | 'none';
  kv_from: number;
  mixer: string;
  heads: number;
  v_head_dim: number;
  in_proj_rows: number;
}

/** One row per layer, in the shape the golden README.json `layer_map` uses (plus mixer and sizes). */
export function layerMap(c: HymbaConfig): LayerRow[] {
  return c.layers.map((l) => ({
    layer: l.index,
    attention: !l.hasAttention ? 'none' : l.global ? 'global' : 'swa',
    kv: !l.hasAttention ? 'none' : l.ownsKv ? 'owner' : 'consumer',
    kv_from: l.kvSource,
    mixer: l.mixer,
    heads: l.numHeads,
    v_head_dim: l.vHeadDim,
    in_proj_rows: l.rows.total,
  }));
}

function hymbaInfo(label: string, c: HymbaConfig) {
  const tensors = [...expectedTensors(c)].map(([name, shape]) => ({ name, shape }));
  return {
    kind: 'hymba' as const,
    name: label,
    config: {
      hidden_size: c.hiddenSize,
      num_layers: c.numLayers,
      num_heads: c.numHeads,
      num_kv_heads: c.numKvHeads,
      qk_head_dim: c.qkHeadDim,
      d_inner: c.dInner,
      d_state: c.dState,
      d_conv: c.dConv,
      dt_rank: c.dtRank,
      intermediate_size: c.intermediateSize,
      vocab_size: c.vocabSize,
      num_meta_tokens: c.numMetaTokens,
      sliding_window: c.slidingWindow,
      global_layers: c.globalLayers,
      kv_reuse_groups: c.kvReuseGroups,
      tie_word_embeddings: c.tieWordEmbeddings,
    },
    parameters: parameterCount(c),
    layers: layerMap(c),
    tensor_count: tensors.length,
    tensors,
  };
}

function transformerInfo(t: TransformerPreset) {
  return { ...t, kv_bytes_per_token_f16: 2 * t.layers * t.kvHeads * t.headDim * 2 };
}

function printHymba(info: ReturnType<typeof hymbaInfo>): void {
  const c = info.config;
  console.log(`${info.name}: Hymba, ${c.num_layers} layers, hidden ${c.hidden_size}, vocab ${fmt(c.vocab_size)}`);
  console.log(
    `  attention: ${c.num_heads} query / ${c.num_kv_heads} KV heads, Q/K head dim ${c.qk_head_dim}; meta tokens ${c.num_meta_tokens}; window ${c.sliding_window}; global layers ${c.global_layers.join(', ') || 'none'}`,
  );
  console.log(
    `  SSM: d_inner ${c.d_inner}, d_state ${c.d_state}, d_conv ${c.d_conv}, dt_rank ${c.dt_rank}; MLP ${c.intermediate_size}; tied embeddings ${c.tie_word_embeddings}`,
  );
  console.log(`  parameters: ${fmt(info.parameters)} in ${info.tensor_count} tensors (--json lists them)`);
  console.log('');
  console.log('layer  attention  KV             mixer    heads  v dim  in_proj rows');
  for (const l of info.layers) {
    const kv = l.kv === 'consumer' ? `uses layer ${l.kv_from}` : l.kv;
    console.log(
      `${String(l.layer).padStart(5)}  ${l.attention.padEnd(9)}  ${kv.padEnd(13)}  ${l.mixer.padEnd(7)}  ${String(l.heads).padStart(5)}  ${String(l.v_head_dim).padStart(5)}  ${String(l.in_proj_rows).padStart(12)}`,
    );
  }
  const owners = info.layers.filter((l) => l.kv === 'owner').length;
  const consumers = info.layers.filter((l) => l.kv === 'consumer').length;
  console.log(`${owners} layers own a KV cache, ${consumers} reuse one.`);
}

function printTransformer(label: string, t: ReturnType<typeof transformerInfo>): void {
  console.log(`${label}: dense Transformer, ${t.layers} layers, hidden ${t.hidden}, vocab ${fmt(t.vocab)}, MLP ${t.intermediate}`);
  console.log(`  attention: ${t.heads} query / ${t.kvHeads} KV heads, head dim ${t.headDim}; every layer global (no window, no sharing)`);
  console.log(`  KV cache: ${fmt(t.kv_bytes_per_token_f16)} B per token at f16`);
  if (t.params !== undefined) console.log(`  parameters: ${(t.params / 1e9).toFixed(1)}B (as the Hymba paper's Table 2 lists it)`);
}

const info: Command = {
  usage: `usage: npm run hymba -- info (--model DIR | --preset NAME) [--json]\npresets: ${presetNames().join(', ')}`,
  flags: { model: 'string', preset: 'string', json: 'boolean' },
  async run(args) {
    const { label, model } = await loadModel(args, false);
    if (isTransformer(model)) {
      const t = transformerInfo(model);
      if (args.flag('json')) console.log(JSON.stringify(t, null, 2));
      else printTransformer(label, t);
      return 0;
    }
    const h = hymbaInfo(label, model);
    if (args.flag('json')) console.log(JSON.stringify(h, null, 2));
    else printHymba(h);
    return 0;
  },
};

export default info;
