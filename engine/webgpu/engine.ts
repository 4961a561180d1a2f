// The WebGPU backend: the same forward pass as the CPU reference (cpu/layer.ts `hymbaPass`), op for op and
// name for name, with every op a WGSL kernel (kernels/). Weights are uploaded once; `forward` records the whole
// pass into one command encoder and reads back only the logits and the requested taps; `steps` submits one op at
// a time so a reader can watch the pass and read any tap computed so far.
//
// Activations are pooled buffers. During `forward`, a layer's intermediates go back to the pool when the layer ends
// (unless tapped), so memory stays at a few layers' worth; producers' K/V live to the end of the pass for their
// consumer layers, which bind the producer's buffers directly.

import { subgroupsUsable } from './kernels/subgroups.ts';
import type { HymbaConfig } from '../config.ts';
import type { Checkpoint } from '../checkpoint/load.ts';
import { betaMasks, formatAblation, type Ablation } from '../ablation.ts';
import { tensor, type Tensor } from '../tensor.ts';
import {
  matchTaps,
  validateIds,
  InputError,
  type BatchItem,
  type BatchOptions,
  type Engine,
  type ForwardOptions,
  type ForwardResult,
  type Step,
} from '../model.ts';
import { checked, type GpuContext } from './device.ts';
import { GpuRuntime, numelOf, type GpuTensor, type KernelProfile, type Pass } from './runtime.ts';
import { checkpointSource, type GpuMatrix, type PlannedWeight, type WeightDType, type WeightSource } from './weights.ts';
import { RandomWeights } from './random-weights.ts';
import { gemvShape, uploadModel, type ChunkState, type DecodeShape, type GpuModel } from './gpu-model.ts';
import { encodeCacheAttention, encodeKvCommit } from './kernels/cache-attention.ts';
import { encodeGemv, UNROLL } from './kernels/gemv.ts';
import { WebGpuSession } from './session.ts';
import type { SessionOptions } from '../session/types.ts';
import { encodeGather } from './kernels/gather.ts';
import { colsView, encodeRmsnorm, whole, type View } from './kernels/rmsnorm.ts';
import { encodeLinear as encodeTiledLinear } from './kernels/linear.ts';
import { encodeRope } from './kernels/rope.ts';
import { encodeCopyCols } from './kernels/copy-cols.ts';
import { encodeAttention, type AttentionShape } from './kernels/attention.ts';
import { encodeAttentionProbs } from './kernels/attention-probs.ts';
import { encodeConv, encodeConvState, type ConvInput } from './kernels/conv.ts';
import { encodeScan } from './kernels/scan.ts';
import { encodeFuse } from './kernels/fuse.ts';
import { encodeAdd, encodeGate, encodeSoftplusBias, encodeSwiglu } from './kernels/elementwise.ts';

export interface WebGpuEngineOptions {
  /**
   * Largest weight chunk bound at once (default: the device's maxStorageBufferBindingSize). Lowering it forces
   * the split-weight path on small models; tests use it.
   */
  maxBindingBytes?: number;
  /**
   * Kernel variants (runtime.ts KernelProfile): default from the adapter ('cpu-like' on SwiftShader and other
   * software adapters, else 'gpu'). Tests set it to run both variants on one device.
   */
  kernelProfile?: KernelProfile;
  /** Threads per workgroup of the decode GEMVs on the 'gpu' profile (kernels/gemv.ts, default 256). */
  decodeThreads?: number;
  /** Rows of W per decode GEMV workgroup (default: by matrix size, kernels/gemv.ts rowsPerGroup). */
  decodeRows?: number;
  /** Stage each decode GEMV's input in workgroup memory when it fits (default true). */
  decodeStage?: boolean;
  /** Weight words each decode GEMV thread loads ahead (kernels/gemv.ts UNROLL; 1 = one load per iteration). */
  decodeUnroll?: number;
  /** Decode GEMV reductions with subgroup operations where the device allows them (kernels/subgroups.ts; default true). */
  decodeSubgroups?: boolean;
  /**
   * Run a hybrid layer's independent small decode kernels as one dispatch each: attention partial ∥ x_proj and
   * attention combine ∥ SSM step (kernels/decode-attention.ts, decode-ssm.ts; default true on the 'gpu' profile).
   */
  decodeMerge?: boolean;
  /** Most rows (sequences × (meta + text tokens)) in one forwardBatch pass (default 16,384); tests lower it. */
  maxBatchRows?: number;
}

interface GpuOp {
  name: string;
  layer: number | null;
  encode(pass: Pass): void;
}

interface Plan {
  ops: GpuOp[];
  env: Map<string, GpuTensor>;
  releaseAll(): void;
}

const END = -1; // the scope of tensors kept until the end of the pass

/**
 * A batch (forwardBatch): sequences of equal length stacked row-wise in one pass, each with its own ablation.
 * Only the logits of `rows` (text rows, sequence b position t = b·n + t) are computed ('logits.rows').
 */
interface BatchPlan {
  ablations: Ablation[];
  rows: number[];
}

/** An id no weight chunk holds: the gather kernel skips its row. */
const SKIP_ROW = 0xffffffff;
/** Most rows in one batched pass: bounds its activations (and stays under 65,535 workgroups per dimension). */
const MAX_BATCH_ROWS = 16_384;

type LayerMasks = ReturnType<typeof betaMasks>[number];
const sameMask = (a: Float32Array | null, b: Float32Array | null): boolean =>
  a === b || (a !== null && b !== null && a.every((v, k) => v === b[k]));

export class WebGpuEngine implements Engine {
  readonly backend = 'webgpu' as const;
  readonly config: HymbaConfig;
  /** What this engine shares with its sessions: weights, RoPE table, runtime, decode shape (gpu-model.ts). */
  readonly model: GpuModel;
  /** Largest weight chunk (maybe lowered by options) and largest activation (the device's binding limit). */
  readonly maxBinding: number;
  readonly maxActivation: number;
  private readonly maxBatchRows: number;

  constructor(ctx: GpuContext, source: Checkpoint | WeightSource, opts: WebGpuEngineOptions = {}) {
    const src = 'weights' in source ? checkpointSource(source) : source;
    this.config = src.config;
    const rt = new GpuRuntime(ctx, opts.kernelProfile);
    const limits = ctx.device.limits;
    this.maxActivation = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
    this.maxBinding = Math.min(opts.maxBindingBytes ?? this.maxActivation, this.maxActivation);
    this.maxBatchRows = opts.maxBatchRows ?? MAX_BATCH_ROWS;
    const decode: DecodeShape = {
      threads: opts.decodeThreads ?? 256,
      rows: opts.decodeRows,
      stage: opts.decodeStage ?? true,
      unroll: opts.decodeUnroll ?? UNROLL,
      merge: opts.decodeMerge ?? rt.profile === 'gpu',
      subgroups: false, // set by create()
    };
    const { weights, ropeCosSin } = uploadModel(rt, src, this.maxBinding);
    this.model = {
      config: this.config,
      rt,
      weights,
      ropeCosSin,
      decode,
      metaStates: new Map(),
      chunkPass: (ids, chunk, o, wanted) => this.chunkPass(ids, chunk, o, wanted),
    };
  }

  get rt(): GpuRuntime {
    return this.model.rt;
  }

  /** What the weights are (checkpoint label or random seed) and the matrices' stored dtype. */
  get weightsLabel(): string {
    return this.model.weights.label;
  }

  get weightDtype(): WeightDType {
    return this.model.weights.dtype;
  }

  /**
   * A model with seeded random weights generated on the GPU (matrices stay in `dtype`, default bf16, and never
   * exist on the host): any config, the full-size Hymba-1.5B included.
   */
  static async createRandom(
    ctx: GpuContext,
    config: HymbaConfig,
    opts: { seed?: number; dtype?: WeightDType } & WebGpuEngineOptions = {},
  ): Promise<{ engine: WebGpuEngine; weights: RandomWeights }> {
    const weights = new RandomWeights(config, opts);
    const engine = await WebGpuEngine.create(ctx, weights, opts);
    try {
      await weights.fill(engine.rt);
    } catch (e) {
      engine.dispose();
      throw e;
    }
    return { engine, weights };
  }

  /** Every tensor held on the GPU: name, shape, stored dtype, rows per buffer, bytes. */
  weightSet(): PlannedWeight[] {
    return this.model.weights.planned.map((w) => ({ ...w, shape: w.shape.slice(), chunkRows: w.chunkRows.slice() }));
  }

  /** An incremental-decoding session over GPU caches (session.ts). */
  async session(opts: SessionOptions = {}): Promise<WebGpuSession> {
    return WebGpuSession.open(this.model, opts);
  }

  /** Construct and wait for the uploads, turning an out-of-memory or validation failure into a typed error. */
  static async create(ctx: GpuContext, ck: Checkpoint | WeightSource, opts: WebGpuEngineOptions = {}): Promise<WebGpuEngine> {
    let engine: WebGpuEngine | undefined;
    try {
      const created = await checked(ctx.device, () => (engine = new WebGpuEngine(ctx, ck, opts)));
      created.model.decode.subgroups = (opts.decodeSubgroups ?? true) && (await subgroupsUsable(ctx.device));
      return created;
    } catch (e) {
      engine?.dispose();
      throw e;
    }
  }

  /** GPU bytes held by this engine now (weights, pooled activations, uniform arenas). */
  allocatedBytes(): number {
    return this.rt.allocatedBytes();
  }

  /** Give pooled activation buffers back to the device (they are otherwise kept for the next pass). */
  trim(): void {
    this.rt.trim();
  }

  /** Encode a plan in one command encoder, read back the named tensors, submit once, and release its buffers. */
  private async runPlan(plan: Plan, names: string[], label: string): Promise<{ results: Float32Array[]; shapes: number[][] }> {
    const pass = this.rt.begin(label);
    const shapes: number[][] = [];
    try {
      try {
        for (const op of plan.ops) op.encode(pass);
        for (const n of names) {
          const t = plan.env.get(n);
          if (!t) throw new InputError(`tap "${n}" is not computed by this pass`);
          pass.read(t.buffer, numelOf(t.shape));
          shapes.push(t.shape);
        }
      } catch (e) {
        await pass.abort();
        throw e;
      }
      return { results: await pass.submit(), shapes };
    } finally {
      plan.releaseAll();
    }
  }

  async forward(ids: number[], opts: ForwardOptions = {}): Promise<ForwardResult> {
    const wanted = matchTaps(this.config, opts.taps);
    const plan = this.plan(ids, opts, wanted, false);
    const names = [...wanted].filter((n) => n !== 'logits').concat('logits');
    const { results, shapes } = await this.runPlan(plan, names, 'forward');
    const out = new Map<string, Tensor>();
    names.forEach((n, i) => out.set(n, tensor(shapes[i], results[i])));
    const logits = out.get('logits')!;
    if (!wanted.has('logits')) out.delete('logits');
    return { logits, taps: out };
  }

  /**
   * Many sequences of one length at once (Engine.forwardBatch): they are stacked row-wise into passes of up to
   * MAX_BATCH_ROWS rows, one command encoder and one readback each, with the same kernels as `forward` (the
   * sequence mixers keep sequences apart; row-wise ops and linears just see more rows), so each item's logits
   * are the ones `forward` computes for it alone. Each item may carry its own ablation (per-sequence β).
   * Why not the training graph's batched forward (train/graph.ts, where an ablation would be a masked β in its
   * parameter buffer)? It is built for training: it allocates the backward's buffers and keeps every token's SSM
   * state (233 MB for 16 sequences of a zoo model, 915 MB for 64), runs ~1.2 s per sequence on SwiftShader (this
   * path: ~0.3 s), and its kernels are not forward's, so an argmax could differ from forward's on a near tie.
   */
  async forwardBatch(items: BatchItem[], opts: BatchOptions = {}): Promise<Tensor[]> {
    const c = this.config;
    const meta = opts.meta ?? true;
    if (items.length === 0) return [];
    const n = items[0].ids.length;
    items.forEach((item, k) => {
      try {
        validateIds(c, item.ids, meta);
      } catch (e) {
        throw new InputError(`batch item ${k}: ${(e as Error).message}`);
      }
      if (item.ids.length !== n)
        throw new InputError(
          `batch item ${k} has ${item.ids.length} tokens, item 0 has ${n}: the sequences of a batch must be equally long`,
        );
      for (const t of item.positions)
        if (!Number.isInteger(t) || t < 0 || t >= n) throw new InputError(`batch item ${k}: position ${t} is not one of its ${n} tokens`);
    });
    const N = n + (meta ? c.numMetaTokens : 0);
    const widest = Math.max(c.hiddenSize, c.dInner, c.intermediateSize, c.dtRank + 2 * c.dState, ...c.layers.map((l) => l.rows.total));
    const maxRows = Math.min(this.maxBatchRows, Math.floor(this.maxActivation / (4 * widest)));
    const perPass = Math.max(1, Math.floor(maxRows / N));
    const out: Tensor[] = [];
    for (let at = 0; at < items.length; at += perPass) out.push(...(await this.batchPass(items.slice(at, at + perPass), opts)));
    return out;
  }

  /** Sequences per forwardBatch call that keep a call short: many on a GPU, few on a CPU rasteriser (runtime.ts). */
  get batchHint(): number {
    return this.rt.profile === 'cpu-like' ? 8 : 64;
  }

  private async batchPass(items: BatchItem[], opts: BatchOptions): Promise<Tensor[]> {
    const V = this.config.vocabSize;
    const n = items[0].ids.length;
    const rows = items.flatMap((item, b) => item.positions.map((t) => b * n + t));
    let logits: Float32Array = new Float32Array(0);
    if (rows.length > 0) {
      const batch: BatchPlan = { ablations: items.map((item) => item.ablation ?? []), rows };
      const plan = this.plan(
        items.flatMap((item) => item.ids),
        { meta: opts.meta, window: opts.window },
        new Set(),
        false,
        undefined,
        batch,
      );
      [logits] = (await this.runPlan(plan, ['logits.rows'], 'forward batch')).results;
    }
    let at = 0;
    return items.map((item) => {
      const k = item.positions.length;
      at += k;
      return tensor([k, V], logits.slice((at - k) * V, at * V));
    });
  }

  async *steps(ids: number[], opts: ForwardOptions = {}): AsyncGenerator<Step> {
    const wanted = matchTaps(this.config, opts.taps);
    const plan = this.plan(ids, opts, wanted, true);
    try {
      for (let k = 0; k < plan.ops.length; k++) {
        const op = plan.ops[k];
        const pass = this.rt.begin(op.name);
        try {
          op.encode(pass);
        } catch (e) {
          await pass.abort();
          throw e;
        }
        await pass.submit();
        yield { index: k, total: plan.ops.length, name: op.name, layer: op.layer, read: (name) => this.readTap(plan.env, name) };
      }
    } finally {
      plan.releaseAll();
    }
  }

  private async readTap(env: Map<string, GpuTensor>, name: string): Promise<Tensor> {
    const t = env.get(name);
    if (!t) {
      const hint = /attn\.probs$|ssm\.states$/.test(name)
        ? ' (probabilities and per-token states are computed only when listed in taps)'
        : '';
      throw new InputError(`tap "${name}" has not been computed yet (or does not exist)${hint}`);
    }
    const pass = this.rt.begin(`read ${name}`);
    pass.read(t.buffer, numelOf(t.shape));
    const [data] = await pass.submit();
    return tensor(t.shape.slice(), data);
  }

  dispose(): void {
    this.model.rt.dispose();
  }

  /**
   * One chunk of a decode session (GpuModel.chunkPass): the pass of `plan` over the session's state, in one command
   * encoder. Returns the logits of the chunk's last row and the wanted taps without the meta rows.
   */
  private async chunkPass(
    ids: number[],
    chunk: ChunkState,
    opts: ForwardOptions,
    wanted: Set<string>,
  ): Promise<{ logits: Float32Array; taps: Map<string, Tensor> }> {
    const plan = this.plan(ids, opts, wanted, false, chunk);
    const names = [...wanted].filter((n) => n !== 'logits');
    if (wanted.has('logits')) names.push('logits');
    names.push('logits.last');
    const { results, shapes } = await this.runPlan(plan, names, 'session chunk');
    const taps = new Map<string, Tensor>();
    const skip = chunk.metaRows;
    names.forEach((n, i) => {
      if (n === 'logits.last') return;
      const shape = shapes[i];
      // The meta rows are dropped (dim 0; the SSM state is not per row; logits have text rows only already).
      if (skip === 0 || n === 'logits' || n.endsWith('.ssm.state')) taps.set(n, tensor(shape, results[i]));
      else {
        const row = numelOf(shape) / shape[0];
        taps.set(n, tensor([shape[0] - skip, ...shape.slice(1)], results[i].slice(skip * row)));
      }
    });
    return { logits: results[results.length - 1], taps };
  }

  /**
   * β per layer with the ablation masks folded in (on the host): the stored gains where nothing is ablated, one
   * masked row where every sequence has the same masks, else one row per sequence (encodeFuse's gainRows = N).
   */
  private fusionGains(
    ablations: Ablation[],
    upload: (data: Float32Array) => GPUBuffer,
  ): Array<{ attn: GPUBuffer | null; ssm: GPUBuffer | null; perSequence: boolean }> {
    const c = this.config;
    const layers = this.model.weights.layers;
    const bySpec = new Map<string, LayerMasks[]>();
    const masks = ablations.map((a) => {
      const key = formatAblation(a);
      let m = bySpec.get(key);
      if (!m) bySpec.set(key, (m = betaMasks(c, a)));
      return m;
    });
    return c.layers.map((_, i) => {
      const first = masks[0][i];
      const perSequence = masks.some((m) => !sameMask(m[i].attn, first.attn) || !sameMask(m[i].ssm, first.ssm));
      const gain = (g: { gpu: GPUBuffer; host: Float32Array } | null, branch: 'attn' | 'ssm') => {
        if (g === null) return null;
        const masked = (mask: Float32Array | null) => (mask ? g.host.map((b, k) => b * mask[k]) : g.host);
        if (!perSequence) return first[branch] ? upload(masked(first[branch])) : g.gpu;
        const E = g.host.length;
        const stacked = new Float32Array(masks.length * E);
        masks.forEach((m, b) => stacked.set(masked(m[i][branch]), b * E));
        return upload(stacked);
      };
      return { attn: gain(layers[i].norm1, 'attn'), ssm: gain(layers[i].norm2, 'ssm'), perSequence };
    });
  }

  /**
   * The ops of one prefill pass, in the CPU reference's order and with its names (or one chunk of a session, or a
   * batch of sequences stacked row-wise: `ids` is then their concatenation).
   */
  private plan(ids: number[], opts: ForwardOptions, wanted: Set<string>, keepAll: boolean, chunk?: ChunkState, batch?: BatchPlan): Plan {
    const c = this.config;
    const meta = opts.meta ?? true;
    if (!chunk && !batch) validateIds(c, ids, meta);
    const window = chunk ? chunk.window : (opts.window ?? c.slidingWindow);
    if (!Number.isInteger(window) || window < (chunk ? 0 : 1))
      throw new InputError(`sliding window must be a positive integer, got ${window}`);
    if (chunk && [...wanted].some((n) => n.endsWith('.attn.probs')))
      throw new InputError('attention probabilities are not recorded by a WebGPU decode session; use WebGpuEngine.forward for them');
    const rt = this.rt;
    const wt = this.model.weights;
    // One-row passes (a session's decode step with taps) use the decode GEMV, which reads W once at full width.
    const encodeLinear = (pass: Pass, x: View, T: number, W: GpuMatrix, out: View) =>
      T === 1
        ? encodeGemv(pass, W, x.buffer, x.offset, out.buffer, out.offset, gemvShape(this.model))
        : encodeTiledLinear(pass, x, T, W, out);
    // Meta rows in this pass; the mask's meta prefix (a session chunk after the meta state has none of the first).
    const M = chunk ? chunk.metaRows : meta ? c.numMetaTokens : 0;
    const numMeta = chunk ? chunk.numMeta : M;
    const pos0 = chunk ? chunk.pos0 : 0;
    // B sequences of N rows each (B = 1 but in a batch); row-wise ops run over all `rows` at once, the sequence
    // mixers (RoPE positions, attention, conv, scan) and the fusion gains take N to keep sequences apart.
    const B = batch ? batch.ablations.length : 1;
    const n = ids.length / B;
    const N = M + n;
    const rows = B * N;
    const { hiddenSize: D, dInner: E, dState: S, dtRank: R, rmsNormEps: eps, qkHeadDim: dqk, numKvHeads: Hkv, intermediateSize: F } = c;
    const L = c.numLayers;

    const env = new Map<string, GpuTensor>();
    const scopes = new Map<number, string[]>();
    const extra: GPUBuffer[] = []; // per-pass uploads (ids, ablated gains)
    const put = (name: string, shape: number[], scope: number): GpuTensor => {
      const bytes = numelOf(shape) * 4;
      if (bytes > this.maxActivation) {
        throw new InputError(
          `${name} [${shape}] needs ${bytes} bytes, more than this device binds at once (${this.maxActivation}); use a shorter prompt`,
        );
      }
      const t = rt.tensor(shape);
      env.set(name, t);
      if (!scopes.has(scope)) scopes.set(scope, []);
      scopes.get(scope)!.push(name);
      return t;
    };
    const get = (name: string): GpuTensor => {
      const t = env.get(name);
      if (!t) throw new Error(`internal: ${name} is needed before it was computed`);
      return t;
    };
    const endScope = (scope: number) => {
      if (keepAll) return;
      for (const name of scopes.get(scope) ?? []) {
        if (wanted.has(name)) continue;
        rt.release(env.get(name)!.buffer);
        env.delete(name);
      }
      scopes.delete(scope);
    };
    const temp = (shape: number[]) => rt.tensor(shape);
    // Host data for this pass is uploaded now, before any encoding: queue.writeBuffer runs before the pass, so a
    // pooled buffer released and re-acquired mid-pass must never be the target of one.
    const upload = (data: Float32Array | Uint32Array): GPUBuffer => {
      const b = rt.acquire(data.byteLength);
      rt.device.queue.writeBuffer(b, 0, data);
      extra.push(b);
      return b;
    };
    // A batch gathers all its rows in each of the two dispatches, the rows of the other kind skipped (SKIP_ROW):
    // row r is row j = r mod N of sequence floor(r / N), a meta token for j < M, else text token j − M.
    const perRow = (id: (b: number, j: number) => number) =>
      upload(Uint32Array.from({ length: rows }, (_, r) => id(Math.floor(r / N), r % N)));
    const metaIds =
      M === 0 ? null : batch ? perRow((_, j) => (j < M ? j : SKIP_ROW)) : upload(Uint32Array.from({ length: M }, (_, j) => j));
    const textIds = batch ? perRow((b, j) => (j < M ? SKIP_ROW : ids[b * n + j - M])) : upload(Uint32Array.from(ids));
    const gains = this.fusionGains(batch ? batch.ablations : [opts.ablation ?? []], upload);
    // The text rows whose logits a batch reads, as rows of the pass.
    const logitRows = batch ? upload(Uint32Array.from(batch.rows, (r) => Math.floor(r / n) * N + M + (r % n))) : null;

    // A session chunk's conv state moves on to the last K − 1 inputs through a temporary: the kernel reads the old one.
    const advanceConvState = (pass: Pass, x: GpuTensor, state: GPUBuffer, K: number, input?: ConvInput) => {
      const width = x.shape[1] * (K - 1);
      const next = temp([1, width]);
      encodeConvState(pass, x, state, K, next.buffer, input);
      encodeCopyCols(pass, whole(next), 1, width, { buffer: state, shape: [1, width] });
      rt.release(next.buffer);
    };
    const ops: GpuOp[] = [];
    const add = (name: string, layer: number | null, encode: (pass: Pass) => void) => ops.push({ name, layer, encode });
    const noop = () => {};

    add('hidden_states.0', null, (pass) => {
      // [meta tokens ; embeddings]: the meta tokens are a gather of rows 0..M−1 of model.memory_tokens.
      const x = put('hidden_states.0', [rows, D], 0);
      if (metaIds) encodeGather(pass, wt.meta!, metaIds, batch ? rows : M, x, 0);
      encodeGather(pass, wt.embed, textIds, batch ? rows : n, x, batch ? 0 : M);
    });

    for (const l of c.layers) {
      const i = l.index;
      const p = `layers.${i}.`;
      const w = wt.layers[i];
      const x = `hidden_states.${i}`;
      add(p + 'input_norm', i, (pass) =>
        encodeRmsnorm(pass, whole(get(x)), rows, D, w.inputNorm, eps, whole(put(p + 'input_norm', [rows, D], i))),
      );
      add(p + 'in_proj', i, (pass) =>
        encodeLinear(pass, whole(get(p + 'input_norm')), rows, w.inProj, whole(put(p + 'in_proj', [rows, l.rows.total], i))),
      );
      const cols = (r: [number, number]) => colsView(get(p + 'in_proj'), r[0]);

      if (l.hasAttention) {
        const dv = l.vHeadDim;
        // lab_qkv_conv: RoPE and V read Q/K/V from the causal conv of in_proj's first qkvColumns columns (same
        // column offsets), through the SSM conv kernels with no bias and no SiLU.
        const qkvName = p + 'attn.qkv_conv';
        if (l.qkvConv > 0) {
          add(qkvName, i, (pass) => {
            const x: GpuTensor = { buffer: get(p + 'in_proj').buffer, shape: [rows, l.qkvColumns] };
            const input = { stride: l.rows.total, offset: 0, plain: true };
            const own = chunk?.qkvConv[i] ?? null;
            encodeConv(pass, x, own ?? wt.zeros, w.qkvConvW!, rt.dummy, l.qkvConv, put(qkvName, [rows, l.qkvColumns], i), N, input);
            if (own) advanceConvState(pass, x, own, l.qkvConv, input);
          });
        }
        const qkv = (r: [number, number]) => (l.qkvConv > 0 ? colsView(get(qkvName), r[0]) : cols(r));
        add(p + 'attn.q', i, (pass) =>
          encodeRope(
            pass,
            qkv(l.rows.q!),
            rows,
            l.numHeads,
            dqk,
            this.model.ropeCosSin,
            put(p + 'attn.q', [rows, l.numHeads * dqk], i),
            pos0,
            N,
          ),
        );
        if (l.ownsKv) {
          // Kept to the end of the pass: consumer layers attend with them.
          add(p + 'attn.k', i, (pass) =>
            encodeRope(pass, qkv(l.rows.k!), rows, Hkv, dqk, this.model.ropeCosSin, put(p + 'attn.k', [rows, Hkv * dqk], END), pos0, N),
          );
          add(p + 'attn.v', i, (pass) => encodeCopyCols(pass, qkv(l.rows.v!), rows, Hkv * dv, put(p + 'attn.v', [rows, Hkv * dv], END)));
        }
        const src = `layers.${l.kvSource}.attn.`;
        const shape: AttentionShape = {
          T: rows,
          heads: l.numHeads,
          kvHeads: Hkv,
          dqk,
          dv,
          qPos0: 0,
          window: l.global ? null : window,
          numMeta: M,
          seqRows: N,
        };
        add(p + 'attn.probs', i, (pass) => {
          const out = put(p + 'attn_out', [rows, l.numHeads * dv], i);
          const cache = chunk?.kv[l.kvSource];
          if (chunk && cache) {
            const s = {
              T: rows,
              heads: l.numHeads,
              kvHeads: Hkv,
              dqk,
              dv,
              pos0,
              window: l.global ? null : window,
              numMeta,
              ring: l.global ? 0 : cache.ring,
            };
            encodeCacheAttention(pass, s, get(p + 'attn.q'), get(src + 'k'), get(src + 'v'), cache.k, cache.v, out);
          } else if (wanted.has(p + 'attn.probs')) {
            const probs = put(p + 'attn.probs', [l.numHeads, N, N], i);
            encodeAttentionProbs(pass, shape, N, get(p + 'attn.q'), get(src + 'k'), get(src + 'v'), probs, out);
          } else encodeAttention(pass, shape, get(p + 'attn.q'), get(src + 'k'), get(src + 'v'), out);
        });
        add(p + 'attn_out', i, noop);
      }

      if (l.hasSsm) {
        add(p + 'ssm.x', i, (pass) => encodeCopyCols(pass, cols(l.rows.x!), rows, E, put(p + 'ssm.x', [rows, E], i)));
        add(p + 'ssm.conv', i, (pass) => {
          const state = chunk?.conv[i] ?? wt.zeros;
          encodeConv(pass, get(p + 'ssm.x'), state, w.convW!, w.convB ?? wt.zeros, c.dConv, put(p + 'ssm.conv', [rows, E], i), N);
          if (chunk && c.dConv > 1) advanceConvState(pass, get(p + 'ssm.x'), state, c.dConv);
        });
        add(p + 'ssm.dt', i, (pass) => {
          // s = x_proj · xc = [dt_r | B | C]; each block gets its own RMSNorm; Δ = softplus(dt_proj · norm(dt_r) + bias).
          const s = temp([rows, R + 2 * S]);
          encodeLinear(pass, whole(get(p + 'ssm.conv')), rows, w.xProj!, whole(s));
          encodeRmsnorm(pass, colsView(s, R), rows, S, w.bNorm, eps, whole(put(p + 'ssm.B', [rows, S], i)));
          encodeRmsnorm(pass, colsView(s, R + S), rows, S, w.cNorm, eps, whole(put(p + 'ssm.C', [rows, S], i)));
          const dtr = temp([rows, R]);
          encodeRmsnorm(pass, colsView(s, 0), rows, R, w.dtNorm, eps, whole(dtr));
          const dt = put(p + 'ssm.dt', [rows, E], i);
          encodeLinear(pass, whole(dtr), rows, w.dtProj!, whole(dt));
          encodeSoftplusBias(pass, dt, w.dtBias!, rows, E);
          rt.release(s.buffer);
          rt.release(dtr.buffer);
        });
        add(p + 'ssm.B', i, noop);
        add(p + 'ssm.C', i, noop);
        add(p + 'ssm_out', i, (pass) => {
          const y = put(p + 'ssm_out', [rows, E], i);
          const state = put(p + 'ssm.state', B > 1 ? [B, E, S] : [E, S], i);
          const states = wanted.has(p + 'ssm.states') ? put(p + 'ssm.states', [rows, E, S], i) : null;
          const args = { x: get(p + 'ssm.conv'), dt: get(p + 'ssm.dt'), AD: w.AD!, B: get(p + 'ssm.B'), C: get(p + 'ssm.C') };
          const own = chunk?.ssm[i];
          encodeScan(pass, { ...args, state: own ?? state.buffer, zeroInit: !own, y, states, seqRows: N }, rt.dummy);
          if (own && wanted.has(p + 'ssm.state')) encodeCopyCols(pass, { buffer: own, offset: 0, stride: E * S }, 1, E * S, state);
          encodeGate(pass, y, cols(l.rows.z!), rows, E);
        });
      }

      add(p + 'fused', i, (pass) => {
        // m = (β1 ⊙ norm(attn) + β2 ⊙ norm(ssm)) / 2 with the ablation masks folded into β on the host.
        const attn = l.hasAttention ? { x: get(p + 'attn_out'), gain: gains[i].attn! } : null;
        const ssm = l.hasSsm ? { x: get(p + 'ssm_out'), gain: gains[i].ssm! } : null;
        encodeFuse(pass, attn, ssm, eps, put(p + 'fused', [rows, E], i), gains[i].perSequence ? N : rows);
      });
      add(p + 'mixer_out', i, (pass) =>
        encodeLinear(pass, whole(get(p + 'fused')), rows, w.outProj, whole(put(p + 'mixer_out', [rows, D], i))),
      );
      add(p + 'mlp_out', i, (pass) => {
        const h = put(p + 'residual_mid', [rows, D], i);
        encodeAdd(pass, get(x), get(p + 'mixer_out'), h, rows * D);
        const g = temp([rows, D]);
        encodeRmsnorm(pass, whole(h), rows, D, w.preMoeNorm, eps, whole(g));
        const gate = temp([rows, F]);
        const up = temp([rows, F]);
        encodeLinear(pass, whole(g), rows, w.gate, whole(gate));
        encodeLinear(pass, whole(g), rows, w.up, whole(up));
        encodeSwiglu(pass, gate, up, rows * F);
        encodeLinear(pass, whole(gate), rows, w.down, whole(put(p + 'mlp_out', [rows, D], i)));
        for (const t of [g, gate, up]) rt.release(t.buffer);
      });
      const last = i === L - 1;
      const next = last ? 'last_layer_output' : `hidden_states.${i + 1}`;
      add(next, i, (pass) => {
        encodeAdd(pass, get(p + 'residual_mid'), get(p + 'mlp_out'), put(next, [rows, D], last ? END : i + 1), rows * D);
        endScope(i);
      });
      if (last) {
        add(`hidden_states.${L}`, null, (pass) =>
          encodeRmsnorm(
            pass,
            whole(get('last_layer_output')),
            rows,
            D,
            wt.finalNorm,
            eps,
            whole(put(`hidden_states.${L}`, [rows, D], END)),
          ),
        );
      }
    }

    if (chunk) {
      add('kv-commit', null, (pass) => {
        // Only now may the SWA rings drop what this chunk's early queries (and its consumer layers) still needed.
        for (const l of c.layers) {
          const kv = chunk.kv[l.index];
          if (!l.ownsKv || !kv) continue;
          const ring = l.global ? 0 : kv.ring;
          encodeKvCommit(pass, get(`layers.${l.index}.attn.k`), kv.k, pos0, numMeta, ring);
          encodeKvCommit(pass, get(`layers.${l.index}.attn.v`), kv.v, pos0, numMeta, ring);
        }
      });
      add('logits.last', null, (pass) => {
        const h = get(`hidden_states.${L}`);
        encodeGemv(pass, wt.head, h.buffer, (N - 1) * D, put('logits.last', [1, c.vocabSize], END).buffer, 0, gemvShape(this.model));
      });
    }
    if (logitRows) {
      add('logits.rows', null, (pass) => {
        // The wanted rows of the final hidden states (a gather, reading them as an f32 matrix), then the head.
        const h = get(`hidden_states.${L}`);
        const hidden: GpuMatrix = { name: 'hidden', dtype: 'F32', rows, cols: D, chunks: [{ buffer: h.buffer, row0: 0, rows }] };
        const K = batch!.rows.length;
        const picked = temp([K, D]);
        encodeGather(pass, hidden, logitRows, K, picked, 0);
        encodeLinear(pass, whole(picked), K, wt.head, whole(put('logits.rows', [K, c.vocabSize], END)));
        rt.release(picked.buffer);
      });
    } else if (!chunk || wanted.has('logits')) {
      add('logits', null, (pass) => {
        // Tied head over the text rows only (rows M..N−1 of the final hidden states).
        const h = get(`hidden_states.${L}`);
        encodeLinear(pass, { buffer: h.buffer, offset: M * D, stride: D }, n, wt.head, whole(put('logits', [n, c.vocabSize], END)));
      });
    }

    return {
      ops,
      env,
      releaseAll: () => {
        for (const t of env.values()) rt.release(t.buffer);
        for (const b of extra) rt.release(b);
        env.clear();
        extra.length = 0;
      },
    };
  }
}
