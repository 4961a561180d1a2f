// The "Show code" text of the recall widgets: the engine calls that reproduce their numbers in Node, from the
// repository root (`npx node snippet.ts`), with the widget's current settings.

const header = `import { loadEngine } from './engine/node.ts';
import { evaluateRecall, mqar128 } from './engine/analysis/recall.ts';`;

export function recallSnippet(o: { model: string; pairs: number; n: number; seed: number; ablation: string }): string {
  return `${header}

// Fresh MQAR-128 sequences (keys k1..k255, values v256..v511), answered by the zoo model '${o.model}'.
const engine = await loadEngine('models/${o.model}', { backend: 'cpu' });
const r = await evaluateRecall(engine, mqar128(), { pairs: ${o.pairs}, n: ${o.n}, seed: ${o.seed}, ablation: '${o.ablation}' });
console.log(\`accuracy \${(100 * r.accuracy).toFixed(1)}% (\${r.correct}/\${r.total})\`, r.byDistance);`;
}

export function importanceSnippet(o: { model: string; pairs: number; n: number; seed: number }): string {
  return `import { loadEngine } from './engine/node.ts';
import { headImportance, mqar128, selectiveCopy } from './engine/analysis/recall.ts';

// Remove each layer's attention branch, then its SSM branch (β zeroed), and measure the accuracy drop.
const engine = await loadEngine('models/${o.model}', { backend: 'cpu' });
const cells = await headImportance(engine, { tasks: [mqar128(), selectiveCopy()], pairs: ${o.pairs}, n: ${o.n}, seed: ${o.seed} });
console.table(cells);`;
}

export function roadmapSnippet(o: { models: string[]; pairs: number; n: number; seed: number }): string {
  return `${header}
import { cacheBytes } from './engine/cache/calculator.ts';

for (const name of ${JSON.stringify(o.models)}) {
  const engine = await loadEngine(\`models/\${name}\`, { backend: 'cpu' });
  const r = await evaluateRecall(engine, mqar128(), { pairs: ${o.pairs}, n: ${o.n}, seed: ${o.seed} });
  const cache = cacheBytes(engine.config, { seqLen: 128 }).total_bytes;
  console.log(name, \`recall \${(100 * r.accuracy).toFixed(1)}%\`, \`cache \${cache} B\`);
}`;
}
