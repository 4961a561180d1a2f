// Choosing the next token from logits, and the generation loop over a DecodeSession.
//
// The order is the usual one (as in Hugging Face `generate`): divide by the temperature, keep the top-k logits,
// then keep the smallest set of most likely tokens whose probability reaches top-p, and draw from what is left
// with a seeded PRNG. Temperature 0 means greedy (argmax; ties go to the lowest id, like torch.argmax).

import type { DecodeSession } from './session/types.ts';

export class SamplingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SamplingError';
  }
}

export interface SamplingOptions {
  /** 0 (default) = greedy. */
  temperature?: number;
  /** Keep only the k most likely tokens (default: all). */
  topK?: number;
  /** Keep the most likely tokens until their probability reaches p, in (0, 1] (default 1 = all). */
  topP?: number;
  /** PRNG seed (default 0): the same seed and logits give the same tokens. */
  seed?: number;
}

/** mulberry32: a tiny 32-bit seeded PRNG, uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

function checkOptions(o: SamplingOptions): void {
  const t = o.temperature ?? 0;
  if (!Number.isFinite(t) || t < 0) throw new SamplingError(`temperature must be a number ≥ 0, got ${t}`);
  if (o.topK !== undefined && (!Number.isInteger(o.topK) || o.topK < 1))
    throw new SamplingError(`topK must be an integer ≥ 1, got ${o.topK}`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) throw new SamplingError(`topP must be in (0, 1], got ${o.topP}`);
  if (o.seed !== undefined && !Number.isInteger(o.seed)) throw new SamplingError(`seed must be an integer, got ${o.seed}`);
}

/**
 * The distribution a token is drawn from (temperature > 0): token ids, most likely first, and their renormalised
 * probabilities after top-k and top-p. Exported so widgets can show the support.
 */
export function samplingDistribution(logits: ArrayLike<number>, o: SamplingOptions): { ids: number[]; probs: number[] } {
  checkOptions(o);
  const t = o.temperature ?? 0;
  if (t === 0) return { ids: [argmax(logits)], probs: [1] };
  const order = Array.from({ length: logits.length }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  const kept = order.slice(0, Math.min(o.topK ?? order.length, order.length));
  // Softmax of logits / T over the kept tokens, in float64 (max subtracted first).
  const max = logits[kept[0]];
  let probs = kept.map((i) => Math.exp((logits[i] - max) / t));
  let sum = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / sum);
  const topP = o.topP ?? 1;
  if (topP < 1) {
    let n = 0;
    let mass = 0;
    while (n < probs.length && mass < topP) mass += probs[n++];
    kept.length = n;
    probs = probs.slice(0, n);
    sum = probs.reduce((a, b) => a + b, 0);
    probs = probs.map((p) => p / sum);
  }
  return { ids: kept, probs };
}

/** A token chooser: deterministic for a given seed and sequence of logits. */
export class Sampler {
  private readonly options: SamplingOptions;
  private readonly random: () => number;
  constructor(options: SamplingOptions = {}) {
    checkOptions(options);
    this.options = options;
    this.random = mulberry32(options.seed ?? 0);
  }

  next(logits: ArrayLike<number>): number {
    if ((this.options.temperature ?? 0) === 0) return argmax(logits);
    const { ids, probs } = samplingDistribution(logits, this.options);
    const u = this.random();
    let acc = 0;
    for (let i = 0; i < ids.length; i++) {
      acc += probs[i];
      if (u < acc) return ids[i];
    }
    return ids[ids.length - 1]; // u within rounding of 1
  }
}

export interface GenerateOptions {
  maxNewTokens: number;
  sampling?: SamplingOptions;
  /** Called after each new token with its index (0-based) and the logits it was chosen from. */
  onToken?: (id: number, index: number, logits: Float32Array) => void;
}

/**
 * Prefill the prompt, then choose and feed tokens one at a time: maxNewTokens tokens need one prefill and
 * maxNewTokens − 1 decode steps. Returns the new ids and, per id, the logits it was chosen from.
 */
export async function generate(
  session: DecodeSession,
  promptIds: number[],
  opts: GenerateOptions,
): Promise<{ ids: number[]; logits: Float32Array[] }> {
  if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 1)
    throw new SamplingError(`maxNewTokens must be an integer ≥ 1, got ${opts.maxNewTokens}`);
  const sampler = new Sampler(opts.sampling);
  const ids: number[] = [];
  const logits: Float32Array[] = [];
  let current = (await session.prefill(promptIds)).logits;
  for (let i = 0; i < opts.maxNewTokens; i++) {
    const id = sampler.next(current);
    ids.push(id);
    logits.push(current);
    opts.onToken?.(id, i, current);
    if (i + 1 < opts.maxNewTokens) current = (await session.step(id)).logits;
  }
  return { ids, logits };
}
