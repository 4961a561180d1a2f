// The "Show code" text of each widget: the engine calls that reproduce its numbers, for the widget's current
// settings. Plain functions, so a test can run every snippet in Node and compare its output with the widget's.
// Snippets import by repository path and run from the repository root: `npx node snippet.ts`.

export interface CacheMeterSnippet {
  preset: string;
  compare: string;
  seq: number;
  dtype: string;
  windowRule: string;
  convention: 'paper' | 'session';
  tokens: number;
  /** Sliding window of the per-layer view (the model's when it is the config's). */
  window: number;
  /** A zoo model the live meter decodes with; empty: the analytic view. */
  liveModel: string;
  bos: number;
}

export function cacheMeterSnippet(o: CacheMeterSnippet): string {
  const hymbaLine =
    o.convention === 'paper'
      ? `// The paper's convention: ${o.dtype} KV + a 4-tap FP16 conv state, no SSM state.
const h = cacheBytes(hymba, { seqLen, dtype: '${o.dtype}', windowRule: '${o.windowRule}', stateDtype: 'f16', convTaps: 4 });
const hymbaBytes = h.kv_bytes + h.conv_state_bytes;`
      : `// What Hymba Lab's session holds: ${o.dtype} KV, f32 conv (3 taps) and SSM state.
const hymbaBytes = cacheBytes(hymba, { seqLen, dtype: '${o.dtype}', windowRule: '${o.windowRule}' }).total_bytes;`;
  const perLayer = o.liveModel
    ? `
// Live, as the meter: a decode session on the zoo model, its cache after ${o.tokens} tokens.
const engine = new CpuEngine(await loadCheckpoint(folderFiles('models/${o.liveModel}')));
const session = engine.session({ windowRule: '${o.windowRule}', window: ${o.window} });
let logits = (await session.prefill([${o.bos}, 3, 4, 5].slice(0, ${o.tokens}))).logits;
while (session.length < ${o.tokens}) logits = (await session.step(argmax(logits))).logits;
console.table(session.cacheUsage().layers);`
    : `
// The per-layer meter: the cache after ${o.tokens} tokens.
const now = cacheBytes(hymba, { seqLen: ${o.tokens}, dtype: '${o.dtype}', windowRule: '${o.windowRule}', window: ${o.window} });
console.table(now.layers);`;
  const liveImports = o.liveModel
    ? `import { folderFiles } from './engine/checkpoint/folder.node.ts';
import { loadCheckpoint } from './engine/checkpoint/load.ts';
import { CpuEngine } from './engine/cpu/forward.ts';
import { argmax } from './engine/sampling.ts';
`
    : '';
  return `import { cacheBytes } from './engine/cache/calculator.ts';
import { resolveConfig } from './engine/presets.ts';
${liveImports}
const hymba = resolveConfig('${o.preset}');
const baseline = resolveConfig('${o.compare}');
const seqLen = ${o.seq};
${hymbaLine}
const baseBytes = cacheBytes(baseline, { seqLen, dtype: '${o.dtype}' }).total_bytes;
console.log(\`\${(hymbaBytes / 1e6).toFixed(2)} MB vs \${(baseBytes / 1e6).toFixed(1)} MB: \${(baseBytes / hymbaBytes).toFixed(2)}×\`);
${perLayer}
`;
}

export interface MaskViewSnippet {
  /** A zoo model whose config.json to read, or empty for the preset. */
  model: string;
  preset: string;
  layer: number;
  meta: number;
  tokens: number;
  window: number;
}

export function maskViewSnippet(o: MaskViewSnippet): string {
  const source = o.model ? `parseConfig(readFileSync('models/${o.model}/config.json', 'utf8'))` : `resolveConfig('${o.preset}')`;
  return `// The mask the figure draws, from the same config and rule (q − k ≤ W; meta tokens always visible).
import { readFileSync } from 'node:fs';
import { parseConfig } from './engine/config.ts';
import { resolveConfig } from './engine/presets.ts';
import { maskCells, visibleCount } from './site/lib/content/masks.ts';

const config = ${source};
const cells = maskCells({ global: config.layers[${o.layer}].global, meta: ${o.meta}, tokens: ${o.tokens}, window: ${o.window} });
console.log('visible query–key pairs:', visibleCount(cells));
`;
}

/** <hymba-attention-map>: attention probabilities of `layer` with meta tokens on and off, reduced per head. */
export function attentionMapSnippet(o: { model: string; ids: readonly number[]; layer: number }): string {
  return `// The numbers of this figure: attention probabilities with meta tokens on and off, reduced per head.
import { loadCheckpoint } from './engine/checkpoint/load.ts';
import { folderFiles } from './engine/checkpoint/folder.node.ts';
import { CpuEngine } from './engine/cpu/forward.ts';
import { attentionStats } from './engine/analysis/attention-stats.ts';

const engine = new CpuEngine(await loadCheckpoint(folderFiles('models/${o.model}')));
const ids = [${o.ids.join(', ')}];
for (const meta of [true, false]) {
  const { taps } = await engine.forward(ids, { meta, taps: ['layers.${o.layer}.attn.probs'] });
  const numMeta = meta ? engine.config.numMetaTokens : 0;
  console.log(meta ? 'meta on' : 'meta off', attentionStats(taps.get('layers.${o.layer}.attn.probs'), { numMeta }));
}
`;
}
