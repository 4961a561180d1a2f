// The CPU reference engine: the Hymba forward pass as the spec reads (hymba-spec.md §2.2–2.9), one named op at a
// time (the layer is cpu/layer.ts's, shared with the decode session). It is the oracle for the WebGPU kernels and
// the fallback where WebGPU is missing.

import type { HymbaConfig } from '../config.ts';
import type { Checkpoint } from '../checkpoint/load.ts';
import { sliceRows, type Tensor } from '../tensor.ts';
import { matchTaps, tapNames, validateIds, InputError, type Engine, type ForwardOptions, type ForwardResult, type Step } from '../model.ts';
import { CpuSession } from '../session/cpu-session.ts';
import type { SessionOptions } from '../session/types.ts';
import { cpuModel, cpuWeights, embed, hymbaPass, isStateTap, lmHead, SequenceState, type F32Weights, type Tap } from './layer.ts';

/** The CPU backend. */
export class CpuEngine implements Engine {
  readonly backend = 'cpu' as const;
  readonly config: HymbaConfig;
  readonly weights: F32Weights;
  constructor(ck: Checkpoint) {
    this.config = ck.config;
    this.weights = cpuWeights(ck);
  }

  async forward(ids: number[], opts: ForwardOptions = {}): Promise<ForwardResult> {
    const wanted = matchTaps(this.config, opts.taps);
    const taps = new Map<string, Tensor>();
    let logits: Tensor | undefined;
    for (const t of this.prefill(ids, opts, (name) => wanted.has(name))) {
      if (wanted.has(t.name)) taps.set(t.name, t.value);
      if (t.name === 'logits') logits = t.value;
    }
    return { logits: logits!, taps };
  }

  async *steps(ids: number[], opts: ForwardOptions = {}): AsyncGenerator<Step> {
    // One step per tap of the table but the SSM states, which come with ssm_out.
    const total = tapNames(this.config).filter((n) => !isStateTap(n)).length;
    const computed = new Map<string, Tensor>();
    let index = 0;
    for (const t of this.prefill(ids, opts, () => true)) {
      computed.set(t.name, t.value);
      if (isStateTap(t.name)) continue;
      yield {
        index: index++,
        total,
        name: t.name,
        layer: t.layer,
        read: async (name) => {
          const value = computed.get(name);
          if (!value) throw new InputError(`tap "${name}" has not been computed yet (or does not exist)`);
          return value;
        },
      };
    }
  }

  /** The prefill pass over `ids`: one chunk from an empty state under the prefill mask, then the text rows' logits. */
  private *prefill(ids: number[], opts: ForwardOptions, keepStates: (name: string) => boolean): Generator<Tap> {
    const meta = opts.meta ?? true;
    validateIds(this.config, ids, meta);
    const M = meta ? this.config.numMetaTokens : 0;
    const window = opts.window ?? this.config.slidingWindow;
    const state = new SequenceState(this.config, { numMeta: M, window, windowRule: 'prefill', maxContext: ids.length });
    const model = cpuModel(this.config, this.weights, opts.ablation);
    const hidden = yield* hymbaPass(model, state, embed(model, ids, M), { numMeta: M, window, keepStates });
    // The official code drops the meta rows before the head.
    yield { name: 'logits', layer: null, value: lmHead(model, sliceRows(hidden, M, hidden.shape[0])) };
  }

  /** An incremental-decoding session over real caches (engine/session/cpu-session.ts). */
  session(opts: SessionOptions = {}): CpuSession {
    return new CpuSession(this.config, this.weights, opts);
  }

  dispose(): void {}
}
