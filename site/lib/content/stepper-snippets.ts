// The stepper's Node snippet and the prompt analysis it shows, as plain functions (no DOM) that tests run in Node.

/** The taps the stepper records at every op, in the widget and in its snippet. */
export const STEP_TAPS = ['layers.*.attn.probs', 'layers.*.ssm.state'];

/** "Show code" for the op at `index` (`op`): the same engine call, run from the repository root. */
export function stepperSnippet(o: { model: string; ids: readonly number[]; index: number; op: string }): string {
  return `// The op this figure shows, from the same engine call (Engine.steps runs one op per iteration).
import { loadCheckpoint } from './engine/checkpoint/load.ts';
import { folderFiles } from './engine/checkpoint/folder.node.ts';
import { CpuEngine } from './engine/cpu/forward.ts';

const engine = new CpuEngine(await loadCheckpoint(folderFiles('models/${o.model}')));
const ids = [${o.ids.join(', ')}];
for await (const step of engine.steps(ids, { taps: ${JSON.stringify(STEP_TAPS).replaceAll('"', "'")} })) {
  if (step.index < ${o.index}) continue;
  const t = await step.read('${o.op}');
  console.log(step.name, t.shape, Array.from(t.data.slice(0, 8)));
  break;
}
`;
}

/** The queries of an MQAR prompt: a key at `pos` that appeared earlier directly followed by a value. */
export function queriesOf(ids: readonly number[], vocabSize: number): { pos: number; value: number }[] {
  const half = Math.floor(vocabSize / 2);
  const isKey = (id: number) => id >= 1 && id < half;
  const valueOf = new Map<number, number>();
  const out: { pos: number; value: number }[] = [];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!isKey(id)) continue;
    const known = valueOf.get(id);
    if (known !== undefined) out.push({ pos: i, value: known });
    else if (i + 1 < ids.length && ids[i + 1] >= half) valueOf.set(id, ids[i + 1]);
  }
  return out;
}
