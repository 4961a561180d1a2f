// A trained model's next-token loss on text (browser-safe), through any inference engine (CpuEngine or
// WebGpuEngine): the exact mean over every scored position, with nothing dropped for batching.
import type { Engine } from '../model.ts';
import type { Example } from '../tasks/types.ts';
import type { BaselineScore } from './baselines.ts';

/** The next-token logits [ids.length · V] of a sequence: what evaluators need from a model. */
export type LogitsFn = (ids: Int32Array) => Promise<Float32Array>;

/** An engine as a LogitsFn (with its meta tokens, as the model was trained). */
export const engineLogits =
  (engine: Engine): LogitsFn =>
  async (ids) =>
    (await engine.forward(Array.from(ids))).logits.data;

/** −log softmax(row)[target], computed stably. */
export function tokenLoss(logits: Float32Array, row: number, V: number, target: number): number {
  let max = -Infinity;
  for (let v = 0; v < V; v++) max = Math.max(max, logits[row * V + v]);
  let sum = 0;
  for (let v = 0; v < V; v++) sum += Math.exp(logits[row * V + v] - max);
  return Math.log(sum) + max - logits[row * V + target];
}

/** Mean loss and perplexity over every target ≥ 0 of `examples`. */
export async function textLoss(logitsOf: LogitsFn, vocabSize: number, examples: Example[]): Promise<BaselineScore & { tokens: number }> {
  let nats = 0;
  let tokens = 0;
  for (const ex of examples) {
    const logits = await logitsOf(ex.ids);
    for (let t = 0; t < ex.targets.length; t++) {
      if (ex.targets[t] < 0) continue;
      nats += tokenLoss(logits, t, vocabSize, ex.targets[t]);
      tokens++;
    }
  }
  return { loss: nats / tokens, perplexity: Math.exp(nats / tokens), tokens };
}
