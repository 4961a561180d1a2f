// Incremental generation on the GPU (hymba-spec.md §2.10–2.11): the WebGPU twin of session/cpu-session.ts, with
// every cache and state in GPU buffers.
//
// Per-sequence state (allocated when the session opens, freed by dispose()):
//   KV owners: K [slots, kvHeads·dqk] and V [slots, kvHeads·dv], f32, post-RoPE. Global owners: M + maxContext slots
//     (slot = position). SWA owners: M fixed meta slots + a ring of W (`hf`) or W + 1 (`prefill`) slots (position
//     p ≥ M lives in slot M + (p − M) mod ring). Consumers bind their producer's buffers.
//   SSM layers: the conv state [E, d_conv − 1] and the SSM state [E, S], f32.
//   Attention layers with lab_qkv_conv W > 1: the Q/K/V conv state [qkvColumns, W − 1] (the last W − 1 pre-conv
//     rows of in_proj's Q/K/V columns), f32; counted in conv_state_bytes.
// Meta tokens are computed once per model and ablation (GpuModel.metaStates) and copied on the GPU into each session.
//
// Two paths:
//   prefill (and a step that records taps): GpuModel.chunkPass, the engine's forward-pass kernels over the
//     session's state, attention over [cache ; chunk], K/V committed at the end (kernels/cache-attention.ts);
//   decode: a DecodeProgram of fused kernels (gemv.ts, decode-attention.ts, decode-ssm.ts) recorded once and replayed
//     per token into ONE command encoder. step() reads back the logits; greedy() keeps the token on the GPU (argmax
//     kernel → the next step's embedding gather) and reads back only the ids, 4 bytes per token.

import { betaMasks, formatAblation } from '../ablation.ts';
import type { LayerSpec } from '../config.ts';
import { InputError, matchTaps, validateIds } from '../model.ts';
import { tensor } from '../tensor.ts';
import type { CacheUsage, DecodeSession, KvSnapshot, LayerCacheUsage, SessionOptions, StepResult, WindowRule } from '../session/types.ts';
import { gemvShape, type ChunkState, type GpuModel } from './gpu-model.ts';
import { DecodeProgram, type Stream } from './decode-program.ts';
import { grid } from './runtime.ts';
import { gemvBindings, gemvGroups, gemvKernel, gemvParams, gemvStages, gemvLayout, type Epilogue, type Prologue } from './kernels/gemv.ts';
import {
  attentionCombineKernel,
  attentionPartialKernel,
  attentionCombineParams,
  attentionPartialParams,
  MAX_SPLITS,
  NONE,
  splits,
} from './kernels/decode-attention.ts';
import { argmaxKernel, argmaxParams, ssmStepGroups, ssmStepKernel, ssmStepParams } from './kernels/decode-ssm.ts';
import { gatherKernel, gatherUniforms } from './kernels/gather.ts';
import { convGroups, convKernel, convParams, convStateKernel } from './kernels/conv.ts';
import { copyColsKernel, copyColsUniforms } from './kernels/copy-cols.ts';
import type { GpuMatrix } from './weights.ts';
import { attentionKind, totalUsage } from '../cache/calculator.ts';

const F32 = 4;
/** Bytes of a layer's Q/K/V conv state (lab_qkv_conv W): qkvColumns × (W − 1) f32 values. */
const qkvStateBytes = (l: LayerSpec) => l.qkvColumns * Math.max(0, l.qkvConv - 1) * F32;
/** Greedy ids kept on the GPU before they must be read back. */
const RESULT_SLOTS = 1024;

interface OwnerCache {
  k: GPUBuffer;
  v: GPUBuffer;
  /** 0 for a global owner (slot = position), else the ring size. */
  ring: number;
  slots: number;
  kWidth: number;
  vWidth: number;
}

/** The meta tokens' state of one model and ablation, kept on the GPU (first M rows of each owner's K/V). */
interface MetaState {
  kv: Array<{ k: GPUBuffer; v: GPUBuffer } | null>;
  conv: Array<GPUBuffer | null>;
  ssm: Array<GPUBuffer | null>;
  qkvConv: Array<GPUBuffer | null>;
}

/** What WebGpuSession.probe() gives a benchmark. */
export interface DecodeProbe {
  readonly model: GpuModel;
  /** The recorded decode step (record it at `position`). */
  readonly program: DecodeProgram;
  /** Position of the next token, meta rows included. */
  readonly position: number;
  readonly numMeta: number;
  /** Per KV owner: slots, ring (0 = global) and row widths. */
  readonly kv: ReadonlyArray<Readonly<OwnerCache> | null>;
  /** Count one token as decoded after the program was recorded once at `position` (throws when the context is full). */
  advance(): void;
}

export class WebGpuSession implements DecodeSession {
  readonly windowRule: WindowRule;
  readonly window: number;
  readonly numMeta: number;
  readonly maxContext: number;
  readonly metaFromCache: boolean;
  private readonly model: GpuModel;
  private readonly ablationKey: string;
  private readonly ablation: SessionOptions['ablation'];
  private readonly wanted: Set<string>;
  private readonly kv: Array<OwnerCache | null>;
  private readonly conv: Array<GPUBuffer | null>;
  private readonly ssm: Array<GPUBuffer | null>;
  private readonly qkvConv: Array<GPUBuffer | null>;
  /** Buffers of this session (caches, states, decode activations), destroyed by dispose(). */
  private readonly owned: GPUBuffer[] = [];
  private program: DecodeProgram | null = null;
  private decodeBuffers: { token: GPUBuffer; results: GPUBuffer; logits: GPUBuffer } | null = null;
  private position = 0;
  private textLength = 0;
  private disposed = false;

  private constructor(model: GpuModel, opts: SessionOptions) {
    const c = model.config;
    this.model = model;
    this.windowRule = opts.windowRule ?? 'hf';
    if (this.windowRule !== 'hf' && this.windowRule !== 'prefill')
      throw new InputError(`windowRule must be "hf" or "prefill", got ${JSON.stringify(this.windowRule)}`);
    this.window = opts.window ?? c.slidingWindow;
    if (!Number.isInteger(this.window) || this.window < 1)
      throw new InputError(`sliding window must be a positive integer, got ${this.window}`);
    this.numMeta = (opts.meta ?? true) ? c.numMetaTokens : 0;
    this.maxContext = opts.maxContext ?? c.maxPositionEmbeddings;
    if (!Number.isInteger(this.maxContext) || this.maxContext < 1)
      throw new InputError(`maxContext must be a positive integer, got ${this.maxContext}`);
    if (this.maxContext > c.maxPositionEmbeddings)
      throw new InputError(
        `maxContext ${this.maxContext} exceeds the model's ${c.maxPositionEmbeddings} positions (the RoPE table ends there)`,
      );
    this.ablation = opts.ablation ?? [];
    betaMasks(c, this.ablation); // validates
    this.ablationKey = formatAblation(this.ablation);
    this.wanted = matchTaps(c, opts.taps);
    this.metaFromCache = this.numMeta > 0 && (opts.reuseMetaState ?? true);
    const rt = model.rt;
    const ring = this.windowRule === 'hf' ? this.window : this.window + 1;
    const make = (bytes: number, label: string) => {
      const b = rt.create(bytes, label);
      this.owned.push(b);
      return b;
    };
    this.kv = c.layers.map((l) => {
      if (!l.ownsKv) return null;
      const slots = l.global ? this.numMeta + this.maxContext : this.numMeta + ring;
      const kWidth = c.numKvHeads * c.qkHeadDim;
      const vWidth = c.numKvHeads * l.vHeadDim;
      return {
        k: make(slots * kWidth * F32, `L${l.index} K cache`),
        v: make(slots * vWidth * F32, `L${l.index} V cache`),
        ring: l.global ? 0 : ring,
        slots,
        kWidth,
        vWidth,
      };
    });
    // Fresh buffers are zero-filled (WebGPU guarantees it): the empty conv and SSM state.
    this.conv = c.layers.map((l) => (l.hasSsm && c.dConv > 1 ? make(c.dInner * (c.dConv - 1) * F32, `L${l.index} conv state`) : null));
    this.ssm = c.layers.map((l) => (l.hasSsm ? make(c.dInner * c.dState * F32, `L${l.index} SSM state`) : null));
    this.qkvConv = c.layers.map((l) => (l.qkvConv > 1 ? make(qkvStateBytes(l), `L${l.index} Q/K/V conv state`) : null));
  }

  /** Open a session; the model's first session (per ablation) computes the meta-token state. */
  static async open(model: GpuModel, opts: SessionOptions = {}): Promise<WebGpuSession> {
    const s = new WebGpuSession(model, opts);
    try {
      if (s.metaFromCache) {
        let meta = model.metaStates.get(s.ablationKey) as MetaState | undefined;
        if (!meta) {
          meta = await WebGpuSession.computeMetaState(model, opts);
          model.metaStates.set(s.ablationKey, meta);
        }
        s.restore(meta);
      }
      return s;
    } catch (e) {
      s.dispose();
      throw e;
    }
  }

  private static async computeMetaState(model: GpuModel, opts: SessionOptions): Promise<MetaState> {
    const c = model.config;
    const M = c.numMetaTokens;
    const scratch = new WebGpuSession(model, { ...opts, taps: undefined, reuseMetaState: false });
    try {
      await scratch.run([], M, 'prefill');
      const rt = model.rt;
      const encoder = rt.device.createCommandEncoder({ label: 'meta state' });
      const copy = (src: GPUBuffer | null, bytes: number, label: string) => {
        if (!src) return null;
        const b = rt.create(bytes, label);
        encoder.copyBufferToBuffer(src, 0, b, 0, bytes);
        return b;
      };
      const state: MetaState = {
        kv: scratch.kv.map((o, i) =>
          o ? { k: copy(o.k, M * o.kWidth * F32, `L${i} meta K`)!, v: copy(o.v, M * o.vWidth * F32, `L${i} meta V`)! } : null,
        ),
        conv: scratch.conv.map((b, i) => copy(b, c.dInner * (c.dConv - 1) * F32, `L${i} meta conv`)),
        ssm: scratch.ssm.map((b, i) => copy(b, c.dInner * c.dState * F32, `L${i} meta SSM`)),
        qkvConv: scratch.qkvConv.map((b, i) => copy(b, qkvStateBytes(c.layers[i]), `L${i} meta Q/K/V conv`)),
      };
      rt.device.queue.submit([encoder.finish()]);
      return state;
    } finally {
      scratch.dispose();
    }
  }

  /** Copy the meta state into this session's buffers (meta slots 0..M−1 are fixed in every layout). */
  private restore(meta: MetaState): void {
    const c = this.model.config;
    const M = this.numMeta;
    const encoder = this.model.rt.device.createCommandEncoder({ label: 'restore meta state' });
    this.kv.forEach((o, i) => {
      const m = meta.kv[i];
      if (!o || !m) return;
      encoder.copyBufferToBuffer(m.k, 0, o.k, 0, M * o.kWidth * F32);
      encoder.copyBufferToBuffer(m.v, 0, o.v, 0, M * o.vWidth * F32);
    });
    this.conv.forEach((b, i) => b && meta.conv[i] && encoder.copyBufferToBuffer(meta.conv[i]!, 0, b, 0, c.dInner * (c.dConv - 1) * F32));
    this.ssm.forEach((b, i) => b && meta.ssm[i] && encoder.copyBufferToBuffer(meta.ssm[i]!, 0, b, 0, c.dInner * c.dState * F32));
    this.qkvConv.forEach(
      (b, i) => b && meta.qkvConv[i] && encoder.copyBufferToBuffer(meta.qkvConv[i]!, 0, b, 0, qkvStateBytes(c.layers[i])),
    );
    this.model.rt.device.queue.submit([encoder.finish()]);
    this.position = M;
  }

  get length(): number {
    return this.textLength;
  }

  private alive(): void {
    if (this.disposed) throw new InputError('this session was disposed');
  }

  private checkRoom(n: number): void {
    if (this.textLength + n > this.maxContext) {
      throw new InputError(
        `the session holds ${this.textLength} tokens and can take ${this.maxContext - this.textLength} more (maxContext ${this.maxContext}); got ${n}`,
      );
    }
  }

  async prefill(ids: number[]): Promise<StepResult> {
    this.alive();
    validateIds(this.model.config, ids, this.numMeta > 0);
    this.checkRoom(ids.length);
    // Without a precomputed meta state, the first prefill runs the meta tokens itself, in front of the text.
    const metaRows = this.position === 0 ? this.numMeta : 0;
    return this.run(ids, metaRows, 'prefill');
  }

  async step(id: number): Promise<StepResult> {
    this.alive();
    if (this.textLength === 0) throw new InputError('step() before prefill(): feed the prompt with prefill() first');
    validateIds(this.model.config, [id], this.numMeta > 0);
    this.checkRoom(1);
    if (this.wanted.size > 0) return this.run([id], 0, 'decode');
    const logits = await this.decode(id, 1, true);
    return { logits: logits as Float32Array, taps: new Map() };
  }

  /**
   * Greedy decoding with the token kept on the GPU: feed `id`, then feed each argmax back, `count` steps in all,
   * each its own command encoder, submitted back to back. Only the ids come back (4 bytes per token, read at the end).
   * Returns the argmax after each fed token (the last one is not fed).
   */
  async greedy(id: number, count: number): Promise<number[]> {
    this.alive();
    if (this.textLength === 0) throw new InputError('greedy() before prefill(): feed the prompt with prefill() first');
    if (!Number.isInteger(count) || count < 1) throw new InputError(`count must be an integer ≥ 1, got ${count}`);
    validateIds(this.model.config, [id], this.numMeta > 0);
    this.checkRoom(count);
    const out: number[] = [];
    for (let done = 0; done < count; done += RESULT_SLOTS) {
      const n = Math.min(RESULT_SLOTS, count - done);
      out.push(...((await this.decode(done === 0 ? id : null, n, false)) as number[]));
    }
    return out;
  }

  /** One chunk through the generic path (prefill, or a step with taps). */
  private async run(ids: number[], metaRows: number, mask: 'prefill' | 'decode'): Promise<StepResult> {
    const chunk: ChunkState = {
      pos0: this.position,
      metaRows,
      numMeta: this.numMeta,
      window: mask === 'decode' && this.windowRule === 'hf' ? this.window - 1 : this.window,
      kv: this.kv.map((o) => o && { k: o.k, v: o.v, ring: o.ring }),
      conv: this.conv,
      ssm: this.ssm,
      qkvConv: this.qkvConv,
    };
    const r = await this.model.chunkPass(ids, chunk, { ablation: this.ablation }, this.wanted);
    this.position += metaRows + ids.length;
    this.textLength += ids.length;
    return r;
  }

  /**
   * `steps` decode steps through the recorded program. `id` (if not null) is written as the first token; later
   * tokens come from the argmax kernel. Returns the logits of the last step (withLogits) or the argmax ids.
   */
  private async decode(id: number | null, steps: number, withLogits: boolean): Promise<Float32Array | number[]> {
    const rt = this.model.rt;
    const program = this.ensureProgram();
    await program.prepare(); // its pipelines compile side by side, once (cached per device)
    const { token, results, logits } = this.decodeBuffers!;
    if (id !== null) rt.device.queue.writeBuffer(token, 0, new Uint32Array([id]));
    const staging = rt.create(
      (withLogits ? this.model.config.vocabSize : steps) * 4,
      'decode readback',
      GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    );
    rt.device.pushErrorScope('validation');
    try {
      for (let s = 0; s < steps; s++) {
        const encoder = rt.device.createCommandEncoder({ label: 'decode step' });
        this.slot = s;
        program.record(encoder, this.position);
        if (s === steps - 1) {
          if (withLogits) encoder.copyBufferToBuffer(logits, 0, staging, 0, this.model.config.vocabSize * 4);
          else encoder.copyBufferToBuffer(results, 0, staging, 0, steps * 4);
        }
        rt.device.queue.submit([encoder.finish()]);
        this.position += 1;
        this.textLength += 1;
      }
      await staging.mapAsync(GPUMapMode.READ);
      const bytes = staging.getMappedRange().slice(0);
      staging.unmap();
      const error = await rt.device.popErrorScope();
      if (error) throw new Error(`WebGPU decode step failed: ${error.message}`);
      return withLogits ? new Float32Array(bytes) : Array.from(new Uint32Array(bytes));
    } catch (e) {
      if (this.model.rt.ctx.isLost()) throw await this.model.rt.ctx.lost;
      throw e;
    } finally {
      rt.destroy(staging);
    }
  }

  /** Index of the current step within a greedy run (the argmax writes its id to results[slot]). */
  private slot = 0;

  private ensureProgram(): DecodeProgram {
    if (this.program) return this.program;
    const e = this.model;
    const c = e.config;
    const rt = e.rt;
    const make = (floats: number, label: string) => {
      const b = rt.create(Math.max(floats, 4) * F32, label);
      this.owned.push(b);
      return b;
    };
    const D = c.hiddenSize;
    const E = c.dInner;
    const S = c.dState;
    const R = c.dtRank;
    const eps = c.rmsNormEps;
    const M = this.numMeta;
    const maxRows = Math.max(...c.layers.map((l) => l.rows.total));
    const maxEntries = Math.max(1, ...this.kv.map((o) => (o ? o.slots : 0)));
    if (splits(maxEntries) > MAX_SPLITS)
      throw new InputError(`maxContext ${this.maxContext} needs more attention splits than the decode kernel holds (${MAX_SPLITS})`);
    const maxDv = Math.max(1, ...c.layers.map((l) => l.vHeadDim));
    const maxHeads = Math.max(1, ...c.layers.map((l) => l.numHeads));
    const x = make(D, 'decode x');
    const xmid = make(D, 'decode x mid');
    const P = make(maxRows, 'decode in_proj');
    const xc = make(E, 'decode conv out');
    // Two buffers hold two outputs each, so a merged dispatch (decodeMerge) stays within 8 storage bindings:
    // scratch = [attention partials | x_proj output at sOff], branches = [attention output | SSM output at yOff].
    // Offsets are binding-aligned: out_proj binds each branch as a slice.
    const align = rt.device.limits.minStorageBufferOffsetAlignment / F32;
    const up = (n: number) => Math.ceil(n / align) * align;
    const sOff = up(maxHeads * splits(maxEntries) * (maxDv + 2));
    const scratch = make(sOff + R + 2 * S, 'decode attention partials | x_proj');
    const yOff = up(E);
    const branches = make(yOff + E, 'decode attention out | SSM out');
    const attnOut: GPUBufferBinding = { buffer: branches, offset: 0, size: E * F32 };
    const y: GPUBufferBinding = { buffer: branches, offset: yOff * F32, size: E * F32 };
    // lab_qkv_conv: the convolved Q/K/V columns (attention reads them at in_proj's offsets) and the next conv state.
    const qkvOut = make(Math.max(0, ...c.layers.map((l) => (l.qkvConv > 0 ? l.qkvColumns : 0))), 'decode Q/K/V conv out');
    const qkvNext = make(Math.max(0, ...c.layers.map(qkvStateBytes)) / F32, 'decode Q/K/V conv next state');
    const h = make(c.intermediateSize, 'decode MLP hidden');
    const logits = make(c.vocabSize, 'decode logits');
    const token = make(4, 'decode token');
    const results = make(RESULT_SLOTS, 'decode greedy ids');
    this.decodeBuffers = { token, results, logits };

    const masks = betaMasks(c, this.ablation ?? []);
    const gains = c.layers.map((_, i) => {
      const gain = (g: { gpu: GPUBuffer; host: Float32Array } | null, mask: Float32Array | null) => {
        if (!g) return null;
        if (!mask) return g.gpu;
        const b = make(g.host.length, `L${i} ablated gain`);
        rt.device.queue.writeBuffer(
          b,
          0,
          g.host.map((v, k) => v * mask[k]),
        );
        return b;
      };
      return { attn: gain(e.weights.layers[i].norm1, masks[i].attn), ssm: gain(e.weights.layers[i].norm2, masks[i].ssm) };
    });

    const p = new DecodeProgram(rt);
    const matrixStream = (m: GpuMatrix, chunk: number): Stream => ({
      buffer: m.chunks[chunk].buffer,
      bytes: m.chunks[chunk].rows * m.cols * (m.dtype === 'F32' ? 4 : 2),
    });
    // y = W · f(x) over each weight chunk; `io` names the buffers of gemvBindings().
    const gemv = (
      W: GpuMatrix,
      prologue: Prologue,
      epilogue: Epilogue,
      io: Record<string, GPUBuffer | GPUBufferBinding>,
      extra: Parameters<typeof gemvParams>[3] = {},
      W2?: GpuMatrix,
    ) => {
      const layout = gemvLayout(gemvShape(e), W.rows, prologue);
      const rpg = layout.rowsPerGroup;
      // Staging pays where the prologue computes (norm, fuse: several loads per input); a plain input is one load
      // either way, and a 22 KB stage (down_proj) cut occupancy on the H200 (docs/performance.md, run 3).
      const stage = prologue !== 'plain' && e.decode.stage && gemvStages(W.cols, prologue, rt.device.limits.maxComputeWorkgroupStorageSize);
      const kernel = gemvKernel({
        ...layout,
        dtype: W.dtype,
        K: W.cols,
        prologue,
        epilogue,
        convTaps: c.dConv,
        stage,
        unroll: e.decode.unroll,
        subgroups: e.decode.subgroups,
      });
      W.chunks.forEach((ch, k) => {
        const buffers = gemvBindings({ dtype: W.dtype, K: W.cols, rowsPerGroup: rpg, prologue, epilogue }).map((n) =>
          n === 'w' ? ch.buffer : n === 'w2' ? W2!.chunks[k].buffer : io[n],
        );
        const streams = [W, ...(W2 ? [W2] : [])].map((m) => matrixStream(m, k));
        p.add(kernel, buffers, gemvParams(W.cols, ch.rows, ch.row0, extra), gemvGroups(ch.rows, rpg), streams);
      });
    };

    // The embedding row of the token (which lives on the GPU: written by step() or by the argmax kernel).
    for (const ch of e.weights.embed.chunks)
      p.add(
        gatherKernel(e.weights.embed.dtype),
        [token, ch.buffer, x],
        gatherUniforms.pack({ count: 1, cols: D, row0: ch.row0, rows: ch.rows, outRow0: 0 }),
        [Math.ceil(D / 64), 1],
      );

    for (const l of c.layers) {
      const i = l.index;
      const w = e.weights.layers[i];
      // in_proj with input_layernorm folded in; its epilogue runs the conv step (xc, conv state) on the x rows.
      if (l.hasSsm) {
        gemv(
          w.inProj,
          'norm',
          'conv',
          {
            x,
            gain: w.inputNorm,
            out: P,
            convW: w.convW!,
            convB: w.convB ?? e.weights.zeros,
            convState: this.conv[i] ?? e.weights.zeros,
            xc,
          },
          {
            eps,
            xRow0: l.rows.x![0],
            E,
          },
        );
      } else gemv(w.inProj, 'norm', 'store', { x, gain: w.inputNorm, out: P }, { eps });

      if (l.qkvConv > 0) {
        // The Q/K/V conv step with the prefill's kernels (T = 1): conv into qkvOut, next state into a temporary
        // (the kernel reads the old one), copied back.
        const Q = l.qkvColumns;
        const params = convParams(1, Q, l.qkvConv, 1, { stride: l.rows.total, offset: 0, plain: true });
        const state = this.qkvConv[i];
        p.add(convKernel, [P, state ?? e.weights.zeros, w.qkvConvW!, rt.dummy, qkvOut], params, convGroups(1, Q));
        if (state) {
          const width = Q * (l.qkvConv - 1);
          p.add(convStateKernel, [P, state, qkvNext], params, convGroups(1, width));
          p.add(
            copyColsKernel,
            [qkvNext, state],
            copyColsUniforms.pack({ rows: 1, cols: width, xOffset: 0, xStride: width }),
            convGroups(1, width),
          ); // 64 per group too
        }
      }

      // A hybrid layer's attention and SSM branches are independent after in_proj: merged, x_proj runs in the
      // attention partials' dispatch and the SSM step in the combine's (kernels/decode-attention.ts, decode-ssm.ts).
      const merge = e.decode.merge && l.hasAttention && l.hasSsm && w.xProj!.chunks.length === 1;
      const src = l.hasAttention ? this.kv[l.kvSource]! : null;
      const entries = (pos: number) => (src!.ring === 0 ? pos + 1 : M + Math.min(pos - M + 1, src!.ring));
      if (l.hasSsm && w.dtProj!.chunks.length !== 1)
        throw new Error(`${w.dtProj!.name} is split into chunks; the decode SSM step needs it whole`);
      const ssmStep = (combine: boolean) =>
        p.add(
          ssmStepKernel(S, R, w.dtProj!.dtype, combine ? l.vHeadDim : undefined),
          [scratch, xc, P, w.dtProj!.chunks[0].buffer, w.AD!, w.ssmPack!, this.ssm[i]!, branches],
          (pos) =>
            ssmStepParams(
              { E, S, zOff: l.rows.z![0], eps, sOff, yOff },
              combine ? { heads: l.numHeads, nsplit: splits(entries(pos)) } : undefined,
            ),
          grid((combine ? l.numHeads : 0) + ssmStepGroups(E, S)),
          [matrixStream(w.dtProj!, 0), { buffer: this.ssm[i]!, bytes: E * S * F32 }],
        );
      if (l.hasAttention) {
        const owner = l.ownsKv;
        const cur = (pos: number) => (!owner ? NONE : src!.ring === 0 ? pos : M + ((pos - M) % src!.ring));
        const shape = { dqk: c.qkHeadDim, dv: l.vHeadDim, group: l.numHeads / c.numKvHeads };
        const xProj = merge ? w.xProj! : null;
        p.add(
          attentionPartialKernel(shape, xProj ? { dtype: xProj.dtype, K: xProj.cols } : undefined),
          [l.qkvConv > 0 ? qkvOut : P, e.ropeCosSin, src!.k, src!.v, scratch, ...(xProj ? [xc, xProj.chunks[0].buffer] : [])],
          (pos) =>
            attentionPartialParams({
              heads: l.numHeads,
              kvHeads: c.numKvHeads,
              entries: entries(pos),
              cur: cur(pos),
              pos,
              qOff: l.rows.q![0],
              kOff: owner ? l.rows.k![0] : 0,
              vOff: owner ? l.rows.v![0] : 0,
              dqk: c.qkHeadDim,
              sOff,
              xRows: xProj ? xProj.rows : 0,
            }),
          (pos) => (xProj ? grid(splits(entries(pos)) * c.numKvHeads + xProj.rows) : [splits(entries(pos)), c.numKvHeads]),
          (pos) => [
            { buffer: src!.k, bytes: entries(pos) * src!.kWidth * F32 },
            { buffer: src!.v, bytes: entries(pos) * src!.vWidth * F32 },
            ...(xProj ? [matrixStream(xProj, 0)] : []),
          ],
        );
        if (merge) ssmStep(true);
        else p.add(attentionCombineKernel(l.vHeadDim), [scratch, branches], (pos) => attentionCombineParams(entries(pos)), [l.numHeads]);
      }
      if (l.hasSsm && !merge) {
        gemv(w.xProj!, 'plain', 'store', { x: xc, out: scratch }, { outOffset: sOff });
        ssmStep(false);
      }
      // out_proj with the mean fusion folded in before and the residual add after.
      const a = l.hasAttention ? attnOut : y;
      const yy = l.hasSsm ? y : attnOut;
      const g1 = gains[i].attn ?? gains[i].ssm!;
      const g2 = gains[i].ssm ?? gains[i].attn!;
      gemv(w.outProj, 'fuse', 'residual', { a, y: yy, g1, g2, resid: x, out: xmid }, { eps, hasA: l.hasAttention, hasY: l.hasSsm });
      gemv(w.gate, 'norm', 'swiglu', { x: xmid, gain: w.preMoeNorm, out: h }, { eps }, w.up);
      gemv(w.down, 'plain', 'residual', { x: h, resid: xmid, out: x });
    }
    gemv(e.weights.head, 'norm', 'store', { x, gain: e.weights.finalNorm, out: logits }, { eps });
    p.add(argmaxKernel, [logits, token, results], () => argmaxParams(c.vocabSize, this.slot), [1]);
    this.program = p;
    return p;
  }

  /**
   * The one way into a session's decode internals, for bench/ (decode-bench.ts: costs, timings, per-kernel profiles,
   * ceilings) and the tests of what they count. Resets the greedy result slot to 0.
   */
  probe(): DecodeProbe {
    this.alive();
    this.slot = 0;
    return {
      model: this.model,
      program: this.ensureProgram(),
      position: this.position,
      numMeta: this.numMeta,
      kv: this.kv,
      advance: () => {
        this.checkRoom(1);
        this.position += 1;
        this.textLength += 1;
      },
    };
  }

  cacheUsage(): CacheUsage {
    const c = this.model.config;
    const layers = c.layers.map((l): LayerCacheUsage => {
      const o = this.kv[l.index];
      const entries = o ? this.numMeta + (o.ring === 0 ? this.textLength : Math.min(this.textLength, o.ring)) : 0;
      return {
        layer: l.index,
        attention: attentionKind(l),
        kvSource: l.kvSource,
        kvEntries: entries,
        kv_bytes: o ? entries * (o.kWidth + o.vWidth) * F32 : 0,
        conv_state_bytes: (l.hasSsm ? c.dInner * (c.dConv - 1) * F32 : 0) + qkvStateBytes(l),
        ssm_state_bytes: l.hasSsm ? c.dInner * c.dState * F32 : 0,
      };
    });
    const reserved = this.kv.reduce((a, o) => a + (o ? o.slots * (o.kWidth + o.vWidth) * F32 : 0), 0);
    return totalUsage(layers, reserved);
  }

  async readKv(layer: number): Promise<KvSnapshot | null> {
    this.alive();
    const c = this.model.config;
    const l = c.layers[layer];
    if (!l) throw new InputError(`layer ${layer} does not exist (the model has ${c.numLayers} layers)`);
    if (!l.hasAttention) return null;
    const o = this.kv[l.kvSource]!;
    const M = this.numMeta;
    const written = this.position;
    const positions: number[] = [];
    for (let q = 0; q < Math.min(written, M); q++) positions.push(q);
    for (let q = o.ring === 0 ? M : Math.max(M, written - o.ring); q < written; q++) positions.push(q);
    const pass = this.model.rt.begin(`read KV ${l.kvSource}`);
    pass.read(o.k, o.slots * o.kWidth);
    pass.read(o.v, o.slots * o.vWidth);
    const [kAll, vAll] = await pass.submit();
    const slot = (q: number) => (q < M || o.ring === 0 ? q : M + ((q - M) % o.ring));
    const k = new Float32Array(positions.length * o.kWidth);
    const v = new Float32Array(positions.length * o.vWidth);
    positions.forEach((q, i) => {
      k.set(kAll.subarray(slot(q) * o.kWidth, (slot(q) + 1) * o.kWidth), i * o.kWidth);
      v.set(vAll.subarray(slot(q) * o.vWidth, (slot(q) + 1) * o.vWidth), i * o.vWidth);
    });
    return { layer: l.kvSource, positions, k: tensor([positions.length, o.kWidth], k), v: tensor([positions.length, o.vWidth], v) };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.program?.dispose();
    for (const b of this.owned) this.model.rt.destroy(b);
    this.owned.length = 0;
  }
}
