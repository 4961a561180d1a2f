// `npm run hymba -- cache (--model DIR | --config FILE | --preset NAME) --seq N [--dtype f16|bf16|f32]
//   [--window-rule hf|prefill] [--state-dtype f16|bf16|f32] [--conv-taps K] [--json]`
// The per-sequence state a model holds after N text tokens (engine/cache/calculator.ts has the exact rules),
// next to the paper's comparison pair (Hymba-1.5B vs Llama-3.2-3B). MB = 10^6 B, as in the paper.
import type { Command } from '../args.ts';
import { cacheBytes, DTYPES, MB, WINDOW_RULES, type CacheBreakdown, type CacheDtype, type WindowRule } from '../../cache/calculator.ts';
import { getPreset, isTransformer, presetNames, resolveConfig } from '../../presets.ts';
import { choice } from './generate.ts';
import { loadModel } from './info.ts';

const mb = (bytes: number) => (bytes / MB).toFixed(2);

function printBreakdown(label: string, b: CacheBreakdown, transformer: boolean): void {
  const n = b.seq_len.toLocaleString('en-US');
  if (transformer) {
    const l = b.layers[0];
    console.log(`${label} after ${n} tokens (KV ${b.dtype}; MB = 10^6 B)`);
    console.log(`  ${b.layers.length} layers × ${l.kv_entries.toLocaleString('en-US')} entries, ${mb(l.kv_bytes)} MB each`);
  } else {
    console.log(
      `${label} after ${n} text tokens (KV ${b.dtype}, window rule ${b.window_rule}; conv/SSM state ${b.state_dtype}, ${b.conv_taps} conv taps; MB = 10^6 B)`,
    );
    console.log('layer  kind      KV entries     KV MB  conv MB   SSM MB');
    for (const l of b.layers) {
      const kind = l.kind === 'consumer' ? `→${l.kv_source}` : l.kind;
      console.log(
        `${String(l.layer).padStart(5)}  ${kind.padEnd(8)}  ${String(l.kv_entries).padStart(10)}  ${mb(l.kv_bytes).padStart(8)}  ${mb(l.conv_state_bytes).padStart(7)}  ${mb(l.ssm_state_bytes).padStart(7)}`,
      );
    }
  }
  console.log(`KV cache    ${mb(b.kv_bytes).padStart(10)} MB`);
  if (!transformer) {
    console.log(`conv state  ${mb(b.conv_state_bytes).padStart(10)} MB`);
    console.log(`SSM state   ${mb(b.ssm_state_bytes).padStart(10)} MB`);
  }
  console.log(`total       ${mb(b.total_bytes).padStart(10)} MB`);
}

/** The paper's pair at the same length and dtypes: a Hymba model against Llama-3.2-3B, a Transformer against Hymba-1.5B. */
function comparisonLine(b: CacheBreakdown, transformer: boolean): string {
  const other = transformer ? 'hymba-1.5b' : 'llama-3.2-3b';
  const o = cacheBytes(resolveConfig(other), { seqLen: b.seq_len, dtype: b.dtype, windowRule: b.window_rule, stateDtype: b.state_dtype });
  const [hymba, dense] = transformer ? [o, b] : [b, o];
  const ratio = (dense.total_bytes / hymba.total_bytes).toFixed(2);
  const kvRatio = (dense.kv_bytes / hymba.kv_bytes).toFixed(2);
  return `${other} at the same length: ${mb(o.total_bytes)} MB; the Transformer holds ${ratio}× the Hymba state (KV alone: ${kvRatio}×)`;
}

const cache: Command = {
  usage:
    'usage: npm run hymba -- cache (--model DIR | --config FILE | --preset NAME) --seq N [--dtype f16|bf16|f32]\n' +
    '         [--window-rule hf|prefill] [--state-dtype f16|bf16|f32] [--conv-taps K] [--json]\n' +
    `presets: ${presetNames().join(', ')}`,
  flags: {
    model: 'string',
    config: 'string',
    preset: 'string',
    seq: 'string',
    dtype: 'string',
    'window-rule': 'string',
    'state-dtype': 'string',
    'conv-taps': 'string',
    json: 'boolean',
  },
  async run(args) {
    const seqLen = args.int('seq', undefined, 1);
    const dtype = choice<CacheDtype>(args, 'dtype', DTYPES, 'f16');
    const windowRule = choice<WindowRule>(args, 'window-rule', WINDOW_RULES, 'hf');
    const stateDtype = choice<CacheDtype>(args, 'state-dtype', DTYPES, 'f32');
    const convTaps = args.has('conv-taps') ? args.int('conv-taps', undefined, 0) : undefined;
    const { label, model } = await loadModel(args, true);
    const b = cacheBytes(model, { seqLen, dtype, windowRule, stateDtype, convTaps });
    const transformer = isTransformer(model);
    if (args.flag('json')) {
      console.log(JSON.stringify({ model: label, kind: transformer ? 'transformer' : 'hymba', ...b }, null, 2));
      return 0;
    }
    printBreakdown(label, b, transformer);
    console.log(comparisonLine(b, transformer));
    const paper = args.has('preset') ? getPreset(label).paperCacheMB : undefined;
    if (paper !== undefined) console.log(`paper (Table 2; 8k tokens, FP16): ${paper} MB`);
    if (!transformer) {
      // The one convention that gives Hymba-1.5B's 78.6 MB exactly (docs/cache.md).
      const p = cacheBytes(model, { seqLen: 8000, dtype: 'f16', stateDtype: 'f16', convTaps: 4 });
      console.log(
        `paper's convention (8,000 tokens, f16 KV + 4-tap f16 conv state, no SSM state): ${mb(p.kv_bytes + p.conv_state_bytes)} MB`,
      );
    }
    return 0;
  },
};

export default cache;
