// The training graph on WebGPU: every buffer and every dispatch of one training step (forward that saves
// activations, backward of every op in reverse, gradient norm, AdamW) is built ONCE, on the engine's runtime
// (webgpu/runtime.ts: buffers, pipeline cache, binding convention) as three recorded programs
// (webgpu/decode-program.ts: forward, backward, optimizer); a step then only uploads the batch and a 32-byte uniform
// and records the programs into one command encoder. The lists are data, so a step is cheap in JavaScript and the
// dispatch count is known (`dispatchesPerStep`).
//
// Row layout: R = B · N rows, N = M + L (the M meta tokens of hymba-spec.md §2.2 lead every sequence).
// Reading order = model order: forwardLayer() is the layer of hymba-spec.md §2.3–2.8, backwardLayer() its mirror.

import type { HymbaConfig, LayerSpec } from '../config.ts';
import { checked, deviceContext } from '../webgpu/device.ts';
import { DecodeProgram } from '../webgpu/decode-program.ts';
import { grid, GpuRuntime, type KernelProfile } from '../webgpu/runtime.ts';
import type { UniformType, UniformValues } from '../webgpu/kernels/uniforms.ts';
import { ropeTable } from './reference.ts';
import { paramLayout, type ParamLayout } from './params.ts';
import * as K from './kernels.ts';

export interface GraphOptions {
  batch: number;
  /** Text tokens per sequence. */
  seqLen: number;
  /** Most loss positions in a batch (sizes the logits). */
  maxTargets: number;
  /** Split-K chunk for the long weight-gradient reductions (a multiple of 16). */
  kChunk?: number;
  /** Kernel variants (webgpu/runtime.ts KernelProfile): 'gpu' tiles matmuls in workgroup memory, 'cpu-like' runs a thread per output (CPU rasterisers). */
  kernels?: KernelProfile;
  weightDecay?: number;
  betas?: [number, number];
  eps?: number;
  clip?: number;
}

/** One batch in the graph's layout. */
export interface GraphBatch {
  /** [B · L] token ids. */
  ids: Uint32Array;
  /** Rows (b · N + M + t) whose next token is scored, and their labels. */
  rows: Uint32Array;
  labels: Uint32Array;
}

type Binding = GPUBuffer | GPUBufferBinding;
interface Strides {
  sam: number;
  sak: number;
  sbk: number;
  sbn: number;
  ldc?: number;
  oa?: number;
  ob?: number;
  oc?: number;
}

/** Workgroups for one thread per element of the 1-D kernels (64 threads a workgroup). */
const grid1d = (threads: number): [number, number] => grid(Math.ceil(threads / 64));

export class TrainGraph {
  readonly config: HymbaConfig;
  readonly layout: ParamLayout;
  readonly device: GPUDevice;
  private readonly rt: GpuRuntime;
  readonly B: number;
  readonly L: number;
  readonly M: number;
  readonly N: number;
  readonly R: number;
  readonly maxT: number;
  readonly opts: Required<GraphOptions>;

  readonly params: GPUBuffer;
  readonly grads: GPUBuffer;
  private readonly adamM: GPUBuffer;
  private readonly adamV: GPUBuffer;
  private readonly stepUniform: GPUBuffer;
  private readonly ids: GPUBuffer;
  private readonly rows: GPUBuffer;
  private readonly labels: GPUBuffer;
  private readonly csrStart: GPUBuffer;
  private readonly csrRows: GPUBuffer;
  readonly history: GPUBuffer;
  readonly maxSteps: number;
  private readonly pred: GPUBuffer;
  private readonly lossRows: GPUBuffer;
  private readonly gFinal: GPUBuffer;
  private readonly dummyR: GPUBuffer;
  private readonly dummyW: GPUBuffer;
  /** Split-K partial products; its size is known once every op is recorded, and bind groups are made after that. */
  private readonly scratch: GPUBufferBinding;
  private scratchFloats = 0;

  private readonly forwardProgram: DecodeProgram;
  private readonly backwardProgram: DecodeProgram;
  private readonly optimizerProgram: DecodeProgram;
  /** The program build() is recording into. */
  private program: DecodeProgram;
  /** Activation buffers by name (for tests and diagnostics), e.g. "logits", "layers.0.probs". */
  readonly buffers = new Map<string, GPUBuffer>();

  constructor(device: GPUDevice, config: HymbaConfig, options: GraphOptions, maxSteps = 1 << 16) {
    this.device = device;
    this.config = config;
    this.layout = paramLayout(config);
    this.opts = { kChunk: 512, kernels: 'gpu', weightDecay: 0.1, betas: [0.9, 0.98], eps: 1e-8, clip: 1, ...options };
    this.rt = new GpuRuntime(deviceContext(device), this.opts.kernels === 'gpu' ? 'gpu' : 'cpu-like');
    this.forwardProgram = new DecodeProgram(this.rt);
    this.backwardProgram = new DecodeProgram(this.rt);
    this.optimizerProgram = new DecodeProgram(this.rt);
    this.program = this.forwardProgram;
    this.B = options.batch;
    this.L = options.seqLen;
    this.M = config.numMetaTokens;
    this.N = this.M + this.L;
    this.R = this.B * this.N;
    this.maxT = options.maxTargets;
    this.maxSteps = maxSteps;
    const P = this.layout.total;
    this.params = this.buf(P, 'params');
    this.grads = this.buf(P, 'grads');
    this.adamM = this.buf(P, 'adam.m');
    this.adamV = this.buf(P, 'adam.v');
    this.stepUniform = this.rt.create(32, 'step', GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    this.ids = this.buf(this.B * this.L, 'ids');
    this.rows = this.buf(this.maxT, 'rows');
    this.labels = this.buf(this.maxT, 'labels');
    this.csrStart = this.buf(config.vocabSize + 1, 'csr.start');
    this.csrRows = this.buf(this.B * this.L, 'csr.rows');
    this.history = this.buf(maxSteps, 'loss.history');
    this.pred = this.buf(this.maxT, 'pred');
    this.lossRows = this.buf(this.maxT, 'loss.rows');
    this.gFinal = this.buf(this.R * config.hiddenSize, 'g.final');
    this.dummyR = this.buf(64, 'dummy.r');
    this.dummyW = this.buf(64, 'dummy.w');
    this.scratch = { buffer: this.dummyW };
    const decay = new Float32Array(P);
    for (const e of this.layout.entries) if (e.decay) decay.fill(1, e.offset, e.offset + e.size);
    this.decay = this.buf(P, 'decay');
    device.queue.writeBuffer(this.decay, 0, decay);
    const table = ropeTable(config, this.N);
    this.cos = this.upload(Float32Array.from(table.cos), 'rope.cos');
    this.sin = this.upload(Float32Array.from(table.sin), 'rope.sin');
    this.build();
  }
  private readonly decay: GPUBuffer;
  private readonly cos: GPUBuffer;
  private readonly sin: GPUBuffer;

  // ---------------------------------------------------------------- buffers and dispatches

  private buf(floats: number, name: string): GPUBuffer {
    const b = this.rt.create(Math.ceil((floats * 4) / 16) * 16, name);
    this.buffers.set(name, b);
    return b;
  }

  private upload(data: Float32Array, name: string): GPUBuffer {
    const b = this.buf(data.length, name);
    this.device.queue.writeBuffer(b, 0, data);
    return b;
  }

  /** A view of one parameter tensor (in `params` or `grads`). */
  private p(name: string, of: GPUBuffer = this.params): Binding {
    const e = this.layout.byName.get(name);
    if (!e) throw new Error(`parameter ${name} is not in this model`);
    return { buffer: of, offset: e.offset * 4, size: Math.max(16, Math.ceil((e.size * 4) / 16) * 16) };
  }
  private g(name: string): Binding {
    return this.p(name, this.grads);
  }
  private offsetOf(name: string): number {
    return this.layout.byName.get(name)!.offset;
  }

  /** Record a dispatch of `kernel` under `name`: its uniform's values first, then the buffers of bindings 1…. */
  private dispatch<F extends Record<string, UniformType>>(
    name: string,
    kernel: K.TrainKernel<F>,
    [values, ...buffers]: [UniformValues<F>, ...Binding[]],
    wg: [number, number, number?],
  ): void {
    this.program.add({ ...kernel, name }, buffers, kernel.uniform.pack(values), wg);
  }

  // ---------------------------------------------------------------- op helpers (one per kernel)

  /** C[M×N] (+)= A·B with strides and element offsets; long K is split into chunks reduced in a fixed order. */
  private matmul(name: string, A: Binding, B: Binding, C: Binding, M: number, N: number, Kd: number, s: Strides, acc = false): void {
    const ldc = s.ldc ?? N;
    const [oa, ob, oc] = [s.oa ?? 0, s.ob ?? 0, s.oc ?? 0];
    const chunk = this.opts.kChunk;
    const tiles: [number, number] = [Math.ceil(N / 16), Math.ceil(M / 16)];
    if (Kd <= 2 * chunk || ldc !== N || oc !== 0) {
      const { sam, sak, sbk, sbn } = s;
      this.mm(name, { M, N, K: Kd, sam, sak, sbk, sbn, ldc, kChunk: Kd, acc: acc ? 1 : 0, splitStride: 0, oa, ob, oc }, A, B, C, [
        ...tiles,
        1,
      ]);
      return;
    }
    const splits = Math.ceil(Kd / chunk);
    this.scratchFloats = Math.max(this.scratchFloats, splits * M * N);
    // `scratch` gets its buffer once every op is recorded (its size is the largest split's); the programs bind it later.
    const { sam, sak, sbk, sbn } = s;
    const u = { M, N, K: Kd, sam, sak, sbk, sbn, ldc: N, kChunk: chunk, acc: 0, splitStride: M * N, oa, ob, oc: 0 };
    this.mm(name + '.splitk', u, A, B, this.scratch, [...tiles, splits]);
    this.colsum(name + '.reduce', this.scratch, null, null, C, splits, M * N, { aS: M * N, ao: 0 }, 1, acc);
  }

  private mm(name: string, u: UniformValues<typeof K.MATMUL>, A: Binding, B: Binding, C: Binding, tiled: [number, number, number]): void {
    if (this.opts.kernels === 'gpu') this.dispatch(name, K.matmul, [u, A, B, C], tiled);
    else this.dispatch(name, K.matmulSimple, [u, A, B, C], grid1d(u.M * u.N * tiled[2]));
  }

  /** out[c] (+)= scale · Σ_r A[r·as + ao + c] · B[…] · S[r]. */
  private colsum(
    name: string,
    A: Binding,
    Bm: Binding | null,
    S: Binding | null,
    out: Binding,
    rows: number,
    cols: number,
    s: { aS: number; ao: number; bs?: number; bo?: number },
    scale = 1,
    acc = false,
  ): void {
    const tall = rows > 64;
    const u = { rows, cols, aS: s.aS, ao: s.ao, bs: s.bs ?? 0, bo: s.bo ?? 0, hasB: Bm ? 1 : 0, hasS: S ? 1 : 0, scale, acc: acc ? 1 : 0 };
    const wg: [number, number, number?] = tall ? [Math.min(cols, 65535), Math.ceil(cols / 65535), 1] : grid1d(cols);
    this.dispatch(name, tall ? K.colsumTall : K.colsumWide, [u, A, Bm ?? this.dummyR, S ?? this.dummyR, out], wg);
  }

  private rmsnorm(
    name: string,
    x: Binding,
    w: Binding,
    y: Binding,
    rinv: Binding,
    width: number,
    s: { xs: number; xo: number; ys: number; yo: number },
    scale = 1,
    acc = false,
  ): void {
    const u = { rows: this.R, width, ...s, eps: this.config.rmsNormEps, scale, acc: acc ? 1 : 0 };
    this.dispatch(name, K.rmsnormFwd, [u, x, w, y, rinv], grid1d(this.R));
  }

  /** gx (+)= RMSNorm backward; gain gradient (scaled) into gw. */
  private rmsnormBack(
    name: string,
    gy: Binding,
    x: Binding,
    w: Binding,
    rinv: Binding,
    gx: Binding,
    gw: Binding,
    width: number,
    s: { gs: number; go: number; xs: number; xo: number; dxs: number; dxo: number },
    scale = 1,
    acc = false,
  ): void {
    const u = { rows: this.R, width, ...s, scale, acc: acc ? 1 : 0 };
    this.dispatch(name, K.rmsnormBwd, [u, gy, x, w, rinv, gx], grid1d(this.R));
    this.colsum(name + '.gain', gy, x, rinv, gw, this.R, width, { aS: s.gs, ao: s.go, bs: s.xs, bo: s.xo }, scale);
  }

  /** y = x · Wᵀ for an nn.Linear weight W [O, I]; x is [rows, I] (row stride xs, column offset xo). */
  private linear(name: string, x: Binding, W: Binding, y: Binding, rows: number, I: number, O: number, xs = I, xo = 0, acc = false): void {
    this.matmul(name, x, W, y, rows, O, I, { sam: xs, sak: 1, sbk: 1, sbn: I, oa: xo }, acc);
  }

  /** Backward of linear: gx (+)= gy · W and gW = gyᵀ · x (summed over rows in a fixed order). */
  private linearBack(
    name: string,
    gy: Binding,
    x: Binding,
    W: Binding,
    gx: Binding | null,
    gW: Binding,
    rows: number,
    I: number,
    O: number,
    gs = O,
    go = 0,
    accX = false,
    xs = I,
    xo = 0,
  ): void {
    if (gx) this.matmul(name + '.dx', gy, W, gx, rows, I, O, { sam: gs, sak: 1, sbk: I, sbn: 1, oa: go }, accX);
    this.matmul(name + '.dW', gy, x, gW, O, I, rows, { sam: 1, sak: gs, sbk: xs, sbn: 1, oa: go, ob: xo });
  }

  // ---------------------------------------------------------------- the model

  private act(name: string, cols: number): GPUBuffer {
    return this.buf(this.R * cols, name);
  }

  private build(): void {
    const c = this.config;
    const D = c.hiddenSize;
    const V = c.vocabSize;
    // ---- forward ----
    this.program = this.forwardProgram;
    const x0 = this.act('hidden_states.0', D);
    this.dispatch(
      'embed',
      K.embedFwd,
      [
        { R: this.R, N: this.N, M: this.M, D, L: this.L },
        this.ids,
        this.p('model.embed_tokens.weight'),
        this.M > 0 ? this.p('model.memory_tokens') : this.dummyR,
        x0,
      ],
      grid1d(this.R * D),
    );
    let x = x0;
    const saved: LayerBuffers[] = [];
    for (const l of c.layers) {
      const s = this.forwardLayer(l, x, saved);
      saved.push(s);
      x = s.xout;
    }
    const rinvF = this.buf(this.R, 'final.rinv');
    const hF = this.act('hidden_states.final', D);
    this.rmsnorm('final_norm', x, this.p('model.final_layernorm.weight'), hF, rinvF, D, { xs: D, xo: 0, ys: D, yo: 0 });
    const hsel = this.buf(this.maxT * D, 'hsel');
    this.dispatch('gather', K.rows, [{ maxRows: this.maxT, D, mode: 0 }, this.stepUniform, this.rows, hF, hsel], grid1d(this.maxT * D));
    const logits = this.buf(this.maxT * V, 'logits');
    this.linear('lm_head', hsel, this.p('model.embed_tokens.weight'), logits, this.maxT, D, V);
    const glogits = this.buf(this.maxT * V, 'glogits');
    this.dispatch(
      'cross_entropy',
      K.crossEntropy,
      [{ V }, this.stepUniform, this.labels, logits, glogits, this.lossRows, this.pred],
      [this.maxT, 1, 1],
    );
    this.dispatch('loss', K.lossSum, [{}, this.stepUniform, this.lossRows, this.history], [1, 1, 1]);

    // ---- backward ----
    this.program = this.backwardProgram;
    const gsel = this.buf(this.maxT * D, 'g.hsel');
    this.linearBack(
      'lm_head',
      glogits,
      hsel,
      this.p('model.embed_tokens.weight'),
      gsel,
      this.g('model.embed_tokens.weight'),
      this.maxT,
      D,
      V,
    );
    this.dispatch(
      'scatter',
      K.rows,
      [{ maxRows: this.maxT, D, mode: 1 }, this.stepUniform, this.rows, gsel, this.gFinal],
      grid1d(this.maxT * D),
    );
    const G = this.act('g.residual', D);
    this.rmsnormBack(
      'final_norm',
      this.gFinal,
      x,
      this.p('model.final_layernorm.weight'),
      rinvF,
      G,
      this.g('model.final_layernorm.weight'),
      D,
      { gs: D, go: 0, xs: D, xo: 0, dxs: D, dxo: 0 },
    );
    const firstKvWrite = new Set<number>();
    for (let i = c.numLayers - 1; i >= 0; i--) this.backwardLayer(c.layers[i], saved[i], saved, G, firstKvWrite);
    this.dispatch('embed.back', K.embedBwd, [{ V, D }, this.csrStart, this.csrRows, G, this.g('model.embed_tokens.weight')], grid1d(V * D));
    if (this.M > 0) this.colsum('meta.back', G, null, null, this.g('model.memory_tokens'), this.B, this.M * D, { aS: this.N * D, ao: 0 });

    // ---- optimizer ----
    this.program = this.optimizerProgram;
    const P = this.layout.total;
    const parts = Math.ceil(P / 4096);
    const partial = this.buf(parts, 'gradnorm.partial');
    const norm = this.buf(4, 'gradnorm');
    this.dispatch('gradnorm.partial', K.sumsq, [{ n: P, stage: 0 }, this.grads, partial], [parts, 1, 1]);
    this.dispatch('gradnorm', K.sumsq, [{ n: parts, stage: 1 }, partial, norm], [1, 1, 1]);
    const [b1, b2] = this.opts.betas;
    this.dispatch(
      'adamw',
      K.adamw,
      [
        { n: P, b1, b2, eps: this.opts.eps, wd: this.opts.weightDecay, clip: this.opts.clip },
        this.stepUniform,
        this.params,
        this.grads,
        this.adamM,
        this.adamV,
        this.decay,
        norm,
      ],
      grid1d(P),
    );

    if (this.scratchFloats > 0) this.scratch.buffer = this.buf(this.scratchFloats, 'splitk.scratch');
  }

  private forwardLayer(l: LayerSpec, xin: GPUBuffer, saved: LayerBuffers[]): LayerBuffers {
    const c = this.config;
    const { D, E, S, Rk, F, W3, T } = layerSizes(c, l);
    const i = l.index;
    const pre = `layers.${i}.`;
    const w = (n: string) => this.p(`model.layers.${i}.${n}`);
    const nb = (l.hasAttention ? 1 : 0) + (l.hasSsm ? 1 : 0);
    const s: LayerBuffers = { xin } as LayerBuffers;
    s.rinv1 = this.buf(this.R, pre + 'rinv1');
    s.n1 = this.act(pre + 'input_norm', D);
    this.rmsnorm(pre + 'input_norm', xin, w('input_layernorm.weight'), s.n1, s.rinv1, D, { xs: D, xo: 0, ys: D, yo: 0 });
    s.P = this.act(pre + 'in_proj', T);
    this.linear(pre + 'in_proj', s.n1, w('mamba.in_proj.weight'), s.P, this.R, D, T);
    if (l.qkvConv > 0) {
      // lab_qkv_conv: Q/K/V columns through their short linear conv into a dense buffer; attention reads that.
      const C = l.qkvColumns;
      s.qkvU = { R: this.R, N: this.N, E: C, K: l.qkvConv, xs: T, xo: 0, hasBias: 0, linear: 1 };
      s.QKV = this.act(pre + 'attn.qkv_conv', C);
      const scratch = this.act(pre + 'attn.qkv_conv_pre', C);
      this.dispatch(
        pre + 'qkv_conv',
        K.convFwd,
        [s.qkvU, s.P, w('mamba.qkv_conv.weight'), this.dummyR, scratch, s.QKV],
        grid1d(this.R * C),
      );
    }
    s.m = this.act(pre + 'fused', E);
    if (l.hasAttention) {
      const H = l.numHeads;
      const dqk = c.qkHeadDim;
      const half = dqk / 2;
      const rope = { rows: this.R, N: this.N, half, oo: 0, sign: 1, acc: 0 };
      s.q = this.act(pre + 'attn.q', H * dqk);
      this.dispatch(
        pre + 'rope.q',
        K.rope,
        [{ ...rope, heads: H, iS: qkvStride(l), io: l.rows.q![0], os: H * dqk }, s.QKV ?? s.P, this.cos, this.sin, s.q],
        grid1d(this.R * H * half),
      );
      if (l.ownsKv) {
        s.k = this.act(pre + 'attn.k', c.numKvHeads * dqk);
        this.dispatch(
          pre + 'rope.k',
          K.rope,
          [
            { ...rope, heads: c.numKvHeads, iS: qkvStride(l), io: l.rows.k![0], os: c.numKvHeads * dqk },
            s.QKV ?? s.P,
            this.cos,
            this.sin,
            s.k,
          ],
          grid1d(this.R * c.numKvHeads * half),
        );
      }
      const src = l.ownsKv ? s : saved[l.kvSource];
      const srcLayer = c.layers[l.kvSource];
      s.attnU = this.attnUniform(l, srcLayer);
      s.probs = this.buf(this.B * H * this.N * this.N, pre + 'attn.probs');
      this.dispatch(pre + 'attn.probs', K.attnProbs, [s.attnU, s.q, src.k!, s.probs], grid1d(this.B * H * this.N));
      s.attn = this.act(pre + 'attn_out', E);
      const mixV = { ...s.attnU, width: l.vHeadDim, xs: s.attnU.vs, xo: s.attnU.vo };
      this.dispatch(pre + 'attn.out', K.attnMix, [mixV, s.probs, src.QKV ?? src.P, s.attn], grid1d(this.R * E));
      s.rinvA = this.buf(this.R, pre + 'rinvA');
      this.rmsnorm(
        pre + 'fuse.attn',
        s.attn,
        w('mamba.pre_avg_layernorm1.weight'),
        s.m,
        s.rinvA,
        E,
        { xs: E, xo: 0, ys: E, yo: 0 },
        1 / nb,
      );
    }
    if (l.hasSsm) {
      const convU = { R: this.R, N: this.N, E, K: c.dConv, xs: T, xo: l.rows.x![0], hasBias: c.convBias ? 1 : 0, linear: 0 };
      s.convU = convU;
      s.pre = this.act(pre + 'ssm.conv_pre', E);
      s.conv = this.act(pre + 'ssm.conv', E);
      this.dispatch(
        pre + 'conv',
        K.convFwd,
        [convU, s.P, w('mamba.conv1d.weight'), c.convBias ? w('mamba.conv1d.bias') : this.dummyR, s.pre, s.conv],
        grid1d(this.R * E),
      );
      s.sp = this.act(pre + 'ssm.x_proj', W3);
      this.linear(pre + 'x_proj', s.conv, w('mamba.x_proj.0.weight'), s.sp, this.R, E, W3);
      s.dtn = this.act(pre + 'ssm.dt_norm', Rk);
      s.BC = this.act(pre + 'ssm.BC', 2 * S);
      s.rinvDt = this.buf(this.R, pre + 'rinvDt');
      s.rinvB = this.buf(this.R, pre + 'rinvB');
      s.rinvC = this.buf(this.R, pre + 'rinvC');
      this.rmsnorm(pre + 'dt_norm', s.sp, w('mamba.dt_layernorm.weight'), s.dtn, s.rinvDt, Rk, { xs: W3, xo: 0, ys: Rk, yo: 0 });
      this.rmsnorm(pre + 'B_norm', s.sp, w('mamba.B_layernorm.weight'), s.BC, s.rinvB, S, { xs: W3, xo: Rk, ys: 2 * S, yo: 0 });
      this.rmsnorm(pre + 'C_norm', s.sp, w('mamba.C_layernorm.weight'), s.BC, s.rinvC, S, { xs: W3, xo: Rk + S, ys: 2 * S, yo: S });
      s.u = this.act(pre + 'ssm.dt_pre', E);
      this.linear(pre + 'dt_proj', s.dtn, w('mamba.dt_proj.0.weight'), s.u, this.R, Rk, E);
      s.dt = this.act(pre + 'ssm.dt', E);
      this.dispatch(
        pre + 'softplus',
        K.softplus,
        [{ n: this.R * E, E, mode: 0 }, s.u, w('mamba.dt_proj.0.bias'), s.dt],
        grid1d(this.R * E),
      );
      s.scanU = {
        B: this.B,
        N: this.N,
        E,
        alog: this.offsetOf(`model.layers.${i}.mamba.A_log.0`),
        d: this.offsetOf(`model.layers.${i}.mamba.D.0`),
        pA: this.R * E,
        pD: this.R * E + this.B * E * S,
      };
      s.scanY = this.act(pre + 'ssm.scan', E);
      s.states = this.buf(this.R * E * S, pre + 'ssm.states');
      this.dispatch(pre + 'scan', K.scanFwd(S), [s.scanU, s.conv, s.dt, s.BC, this.params, s.scanY, s.states], grid1d(this.B * E));
      s.ssmY = this.act(pre + 'ssm_out', E);
      this.dispatch(
        pre + 'gate',
        K.gate,
        [{ R: this.R, E, zs: T, zo: l.rows.z![0], mode: 0 }, s.scanY, s.P, this.dummyR, s.ssmY, this.dummyW],
        grid1d(this.R * E),
      );
      s.rinvS = this.buf(this.R, pre + 'rinvS');
      this.rmsnorm(
        pre + 'fuse.ssm',
        s.ssmY,
        w('mamba.pre_avg_layernorm2.weight'),
        s.m,
        s.rinvS,
        E,
        { xs: E, xo: 0, ys: E, yo: 0 },
        1 / nb,
        l.hasAttention,
      );
    }
    s.mixer = this.act(pre + 'mixer_out', D);
    this.linear(pre + 'out_proj', s.m, w('mamba.out_proj.weight'), s.mixer, this.R, E, D);
    s.xmid = this.act(pre + 'residual_mid', D);
    this.add(pre + 'residual.mixer', xin, s.mixer, s.xmid, this.R * D);
    s.rinv2 = this.buf(this.R, pre + 'rinv2');
    s.n2 = this.act(pre + 'mlp_norm', D);
    this.rmsnorm(pre + 'mlp_norm', s.xmid, w('pre_moe_layernorm.weight'), s.n2, s.rinv2, D, { xs: D, xo: 0, ys: D, yo: 0 });
    s.gu = this.act(pre + 'mlp.gate_up', 2 * F);
    this.matmul(pre + 'gate_proj', s.n2, w('moe.experts.0.gate_proj.weight'), s.gu, this.R, F, D, {
      sam: D,
      sak: 1,
      sbk: 1,
      sbn: D,
      ldc: 2 * F,
    });
    this.matmul(pre + 'up_proj', s.n2, w('moe.experts.0.up_proj.weight'), s.gu, this.R, F, D, {
      sam: D,
      sak: 1,
      sbk: 1,
      sbn: D,
      ldc: 2 * F,
      oc: F,
    });
    s.act = this.act(pre + 'mlp.act', F);
    this.dispatch(pre + 'swiglu', K.swiglu, [{ R: this.R, F, mode: 0 }, s.gu, this.dummyR, s.act], grid1d(this.R * F));
    s.mlp = this.act(pre + 'mlp_out', D);
    this.linear(pre + 'down_proj', s.act, w('moe.experts.0.down_proj.weight'), s.mlp, this.R, F, D);
    s.xout = this.act(`hidden_states.${i + 1}`, D);
    this.add(pre + 'residual.mlp', s.xmid, s.mlp, s.xout, this.R * D);
    return s;
  }

  private backwardLayer(l: LayerSpec, s: LayerBuffers, saved: LayerBuffers[], G: GPUBuffer, firstKvWrite: Set<number>): void {
    const c = this.config;
    const { D, E, S, Rk, F, W3, T } = layerSizes(c, l);
    const i = l.index;
    const pre = `layers.${i}.back.`;
    const w = (n: string) => this.p(`model.layers.${i}.${n}`);
    const gw = (n: string) => this.g(`model.layers.${i}.${n}`);
    const nb = (l.hasAttention ? 1 : 0) + (l.hasSsm ? 1 : 0);
    const R = this.R;
    // MLP: G = ∂L/∂(layer output).
    const gAct = this.act(pre + 'act', F);
    this.linearBack(pre + 'down_proj', G, s.act, w('moe.experts.0.down_proj.weight'), gAct, gw('moe.experts.0.down_proj.weight'), R, F, D);
    const ggu = this.act(pre + 'gate_up', 2 * F);
    this.dispatch(pre + 'swiglu', K.swiglu, [{ R, F, mode: 1 }, s.gu, gAct, ggu], grid1d(R * F));
    const gN2 = this.act(pre + 'mlp_norm', D);
    this.matmul(pre + 'gate_proj.dx', ggu, w('moe.experts.0.gate_proj.weight'), gN2, R, D, F, { sam: 2 * F, sak: 1, sbk: D, sbn: 1 });
    this.matmul(
      pre + 'up_proj.dx',
      ggu,
      w('moe.experts.0.up_proj.weight'),
      gN2,
      R,
      D,
      F,
      { sam: 2 * F, sak: 1, sbk: D, sbn: 1, oa: F },
      true,
    );
    this.matmul(pre + 'gate_proj.dW', ggu, s.n2, gw('moe.experts.0.gate_proj.weight'), F, D, R, { sam: 1, sak: 2 * F, sbk: D, sbn: 1 });
    this.matmul(pre + 'up_proj.dW', ggu, s.n2, gw('moe.experts.0.up_proj.weight'), F, D, R, { sam: 1, sak: 2 * F, sbk: D, sbn: 1, oa: F });
    this.rmsnormBack(
      pre + 'mlp_norm',
      gN2,
      s.xmid,
      w('pre_moe_layernorm.weight'),
      s.rinv2,
      G,
      gw('pre_moe_layernorm.weight'),
      D,
      { gs: D, go: 0, xs: D, xo: 0, dxs: D, dxo: 0 },
      1,
      true,
    );
    // Mixer: G = ∂L/∂(residual after the mixer).
    const gM = this.act(pre + 'fused', E);
    this.linearBack(pre + 'out_proj', G, s.m, w('mamba.out_proj.weight'), gM, gw('mamba.out_proj.weight'), R, E, D);
    const gP = this.producerGrad(l, saved);
    if (l.hasSsm) {
      const gSsm = this.act(pre + 'ssm_out', E);
      this.rmsnormBack(
        pre + 'fuse.ssm',
        gM,
        s.ssmY,
        w('mamba.pre_avg_layernorm2.weight'),
        s.rinvS,
        gSsm,
        gw('mamba.pre_avg_layernorm2.weight'),
        E,
        { gs: E, go: 0, xs: E, xo: 0, dxs: E, dxo: 0 },
        1 / nb,
      );
      const gScan = this.act(pre + 'ssm.scan', E);
      this.dispatch(pre + 'gate', K.gate, [{ R, E, zs: T, zo: l.rows.z![0], mode: 1 }, s.scanY, s.P, gSsm, gScan, gP], grid1d(R * E));
      const gBC = this.act(pre + 'ssm.BC', 2 * S);
      this.dispatch(pre + 'scan.gC', K.scanGradBC(S), [{ R, E, mode: 1 }, s.states, gScan, gScan, gBC], grid1d(R * S));
      const gConv = this.act(pre + 'ssm.conv', E);
      const gdtp = this.buf(R * E + this.B * E * S + this.B * E, pre + 'ssm.dt_and_partials');
      this.dispatch(
        pre + 'scan',
        K.scanBwd(S),
        [s.scanU, gScan, s.conv, s.dt, s.BC, this.params, s.states, gConv, gdtp],
        grid1d(this.B * E),
      );
      this.dispatch(pre + 'scan.gB', K.scanGradBC(S), [{ R, E, mode: 0 }, s.states, s.dt, s.conv, gBC], grid1d(R * S));
      this.colsum(pre + 'A_log', gdtp, null, null, gw('mamba.A_log.0'), this.B, E * S, { aS: E * S, ao: R * E });
      this.colsum(pre + 'D', gdtp, null, null, gw('mamba.D.0'), this.B, E, { aS: E, ao: R * E + this.B * E * S });
      this.dispatch(pre + 'softplus', K.softplus, [{ n: R * E, E, mode: 1 }, s.u, w('mamba.dt_proj.0.bias'), gdtp], grid1d(R * E));
      this.colsum(pre + 'dt_bias', gdtp, null, null, gw('mamba.dt_proj.0.bias'), R, E, { aS: E, ao: 0 });
      const gDtn = this.act(pre + 'ssm.dt_norm', Rk);
      this.linearBack(pre + 'dt_proj', gdtp, s.dtn, w('mamba.dt_proj.0.weight'), gDtn, gw('mamba.dt_proj.0.weight'), R, Rk, E);
      const gsp = this.act(pre + 'ssm.x_proj', W3);
      this.rmsnormBack(pre + 'dt_norm', gDtn, s.sp, w('mamba.dt_layernorm.weight'), s.rinvDt, gsp, gw('mamba.dt_layernorm.weight'), Rk, {
        gs: Rk,
        go: 0,
        xs: W3,
        xo: 0,
        dxs: W3,
        dxo: 0,
      });
      this.rmsnormBack(pre + 'B_norm', gBC, s.sp, w('mamba.B_layernorm.weight'), s.rinvB, gsp, gw('mamba.B_layernorm.weight'), S, {
        gs: 2 * S,
        go: 0,
        xs: W3,
        xo: Rk,
        dxs: W3,
        dxo: Rk,
      });
      this.rmsnormBack(pre + 'C_norm', gBC, s.sp, w('mamba.C_layernorm.weight'), s.rinvC, gsp, gw('mamba.C_layernorm.weight'), S, {
        gs: 2 * S,
        go: S,
        xs: W3,
        xo: Rk + S,
        dxs: W3,
        dxo: Rk + S,
      });
      this.linearBack(pre + 'x_proj', gsp, s.conv, w('mamba.x_proj.0.weight'), gConv, gw('mamba.x_proj.0.weight'), R, E, W3, W3, 0, true);
      this.dispatch(pre + 'conv.silu', K.siluBwd, [{ n: R * E }, s.pre, gConv], grid1d(R * E));
      this.dispatch(pre + 'conv.dx', K.convBwdX, [s.convU, gConv, w('mamba.conv1d.weight'), gP], grid1d(R * E));
      this.dispatch(pre + 'conv.dw', K.convBwdW, [s.convU, gConv, s.P, gw('mamba.conv1d.weight')], [E * c.dConv, 1, 1]);
      if (c.convBias) this.colsum(pre + 'conv.bias', gConv, null, null, gw('mamba.conv1d.bias'), R, E, { aS: E, ao: 0 });
    }
    if (l.hasAttention) {
      const H = l.numHeads;
      const dqk = c.qkHeadDim;
      const Hkv = c.numKvHeads;
      const src = l.ownsKv ? s : saved[l.kvSource];
      const srcLayer = c.layers[l.kvSource];
      const gAttn = this.act(pre + 'attn_out', E);
      this.rmsnormBack(
        pre + 'fuse.attn',
        gM,
        s.attn,
        w('mamba.pre_avg_layernorm1.weight'),
        s.rinvA,
        gAttn,
        gw('mamba.pre_avg_layernorm1.weight'),
        E,
        { gs: E, go: 0, xs: E, xo: 0, dxs: E, dxo: 0 },
        1 / nb,
      );
      const gS = this.buf(this.B * H * this.N * this.N, pre + 'attn.scores');
      this.dispatch(pre + 'attn.scores', K.attnGradScores, [s.attnU, s.probs, src.QKV ?? src.P, gAttn, gS], grid1d(this.B * H * this.N));
      // RoPE backward = the rotation by −θ, written into the in_proj gradient's Q / K columns.
      const ropeBack = { rows: R, N: this.N, half: dqk / 2, sign: -1, acc: 0 };
      const gq = this.act(pre + 'attn.q', H * dqk);
      const mixK = { ...s.attnU, width: dqk, xs: s.attnU.ks, xo: s.attnU.ko };
      this.dispatch(pre + 'attn.q', K.attnMix, [mixK, gS, src.k!, gq], grid1d(R * H * dqk));
      this.dispatch(
        pre + 'rope.q',
        K.rope,
        [{ ...ropeBack, heads: H, iS: H * dqk, io: 0, os: T, oo: l.rows.q![0] }, gq, this.cos, this.sin, gP],
        grid1d((R * H * dqk) / 2),
      );
      // K/V gradients go to the producer (a consumer's backward runs before its producer's): the first writer
      // overwrites, later ones add.
      src.gK ??= this.act(`layers.${l.kvSource}.back.attn.k`, Hkv * dqk);
      const srcGP = this.producerGrad(srcLayer, saved);
      const accKV = firstKvWrite.has(l.kvSource);
      firstKvWrite.add(l.kvSource);
      const uKV = this.attnUniform(l, srcLayer, accKV);
      this.dispatch(
        pre + 'attn.k',
        K.attnGradKV,
        [{ ...uKV, width: dqk, xs: H * dqk, os: Hkv * dqk, oo: 0 }, gS, s.q!, src.gK],
        grid1d(R * Hkv * dqk),
      );
      this.dispatch(
        pre + 'attn.v',
        K.attnGradKV,
        [{ ...uKV, width: l.vHeadDim, xs: H * l.vHeadDim, os: srcLayer.rows.total, oo: srcLayer.rows.v![0] }, s.probs, gAttn, srcGP],
        grid1d(R * Hkv * l.vHeadDim),
      );
      if (l.ownsKv) {
        this.dispatch(
          pre + 'rope.k',
          K.rope,
          [{ ...ropeBack, heads: Hkv, iS: Hkv * dqk, io: 0, os: T, oo: l.rows.k![0] }, s.gK!, this.cos, this.sin, gP],
          grid1d((R * Hkv * dqk) / 2),
        );
      }
    }
    if (l.qkvConv > 0) {
      // gP's Q/K/V columns hold ∂L/∂(conv output): take them out, then write back ∂L/∂(in_proj output).
      const C = l.qkvColumns;
      const gQKV = this.act(pre + 'qkv_conv', C);
      this.dispatch(pre + 'qkv_conv.take', K.colsCopy, [{ R, C, xs: T, xo: 0 }, gP, gQKV], grid1d(R * C));
      this.dispatch(pre + 'qkv_conv.dx', K.convBwdX, [s.qkvU!, gQKV, w('mamba.qkv_conv.weight'), gP], grid1d(R * C));
      this.dispatch(pre + 'qkv_conv.dw', K.convBwdW, [s.qkvU!, gQKV, s.P, gw('mamba.qkv_conv.weight')], [C * l.qkvConv, 1, 1]);
    }
    const gN1 = this.act(pre + 'input_norm', D);
    this.linearBack(pre + 'in_proj', gP, s.n1, w('mamba.in_proj.weight'), gN1, gw('mamba.in_proj.weight'), R, D, T);
    this.rmsnormBack(
      pre + 'input_norm',
      gN1,
      s.xin,
      w('input_layernorm.weight'),
      s.rinv1,
      G,
      gw('input_layernorm.weight'),
      D,
      { gs: D, go: 0, xs: D, xo: 0, dxs: D, dxo: 0 },
      1,
      true,
    );
  }

  /** A layer's in_proj gradient; a producer's is created by its first consumer (whose backward runs first). */
  private producerGrad(layer: LayerSpec, saved: LayerBuffers[]): GPUBuffer {
    const s = saved[layer.index];
    s.gP ??= this.act(`layers.${layer.index}.back.in_proj`, layer.rows.total);
    return s.gP;
  }

  private attnUniform(l: LayerSpec, src: LayerSpec, acc = false): UniformValues<typeof K.ATTN> {
    const c = this.config;
    const H = l.numHeads;
    return {
      B: this.B,
      N: this.N,
      H,
      Hkv: c.numKvHeads,
      dqk: c.qkHeadDim,
      dv: l.vHeadDim,
      qs: H * c.qkHeadDim,
      qo: 0,
      ks: c.numKvHeads * c.qkHeadDim,
      ko: 0,
      vs: qkvStride(src),
      vo: src.rows.v![0],
      window: l.global ? 0xffffffff : c.slidingWindow,
      numMeta: this.M,
      scale: 1 / Math.sqrt(c.qkHeadDim),
      acc: acc ? 1 : 0,
    };
  }

  private add(name: string, a: GPUBuffer, b: GPUBuffer, out: GPUBuffer, n: number): void {
    this.dispatch(name, K.add, [{ n }, a, b, out], grid1d(n));
  }

  // ---------------------------------------------------------------- running

  get dispatchesPerStep(): number {
    return this.forwardProgram.dispatches + this.backwardProgram.dispatches + this.optimizerProgram.dispatches;
  }

  async setParams(flat: Float32Array): Promise<void> {
    if (flat.length !== this.layout.total) throw new Error(`setParams: expected ${this.layout.total} floats, got ${flat.length}`);
    this.device.queue.writeBuffer(this.params, 0, flat);
    const zeros = new Float32Array(this.layout.total);
    this.device.queue.writeBuffer(this.adamM, 0, zeros);
    this.device.queue.writeBuffer(this.adamV, 0, zeros);
  }

  /** AdamW's first and second moments (for training checkpoints). */
  async readOptimizerState(): Promise<{ m: Float32Array; v: Float32Array }> {
    return { m: await this.read(this.adamM, this.layout.total), v: await this.read(this.adamV, this.layout.total) };
  }

  /** Restore AdamW's moments saved by readOptimizerState (after setParams, which zeroes them). */
  setOptimizerState(m: Float32Array, v: Float32Array): void {
    const P = this.layout.total;
    if (m.length !== P || v.length !== P) throw new Error(`setOptimizerState: expected ${P} floats each, got ${m.length} and ${v.length}`);
    this.device.queue.writeBuffer(this.adamM, 0, m);
    this.device.queue.writeBuffer(this.adamV, 0, v);
  }

  /** Upload a batch: ids, scored rows and labels, and the token → rows lists of the embedding backward. */
  setBatch(batch: GraphBatch): void {
    const { B, L, M, N } = this;
    const V = this.config.vocabSize;
    if (batch.ids.length !== B * L) throw new Error(`setBatch: expected ${B * L} ids, got ${batch.ids.length}`);
    if (batch.rows.length > this.maxT) throw new Error(`setBatch: ${batch.rows.length} target rows exceed maxTargets ${this.maxT}`);
    const start = new Uint32Array(V + 1);
    for (const id of batch.ids) {
      if (id >= V) throw new Error(`setBatch: token id ${id} is outside the vocabulary 0..${V - 1}`);
      start[id + 1]++;
    }
    for (let v = 0; v < V; v++) start[v + 1] += start[v];
    const fill = start.slice(0, V);
    const rows = new Uint32Array(B * L);
    for (let b = 0; b < B; b++) for (let j = 0; j < L; j++) rows[fill[batch.ids[b * L + j]]++] = b * N + M + j;
    const q = this.device.queue;
    q.writeBuffer(this.ids, 0, batch.ids);
    q.writeBuffer(this.csrStart, 0, start);
    q.writeBuffer(this.csrRows, 0, rows);
    const r = new Uint32Array(this.maxT);
    r.set(batch.rows);
    q.writeBuffer(this.rows, 0, r);
    const lab = new Uint32Array(this.maxT);
    lab.set(batch.labels);
    q.writeBuffer(this.labels, 0, lab);
    this.count = batch.rows.length;
  }
  private count = 0;

  private writeStep(step: number, lr: number): void {
    const [b1, b2] = this.opts.betas;
    const t = step + 1;
    const u = K.STEP.pack({ step: step % this.maxSteps, count: this.count, lr, bc1: 1 - b1 ** t, bc2: 1 - b2 ** t });
    this.device.queue.writeBuffer(this.stepUniform, 0, Uint32Array.from(u));
  }

  /** Record `programs` (static uniforms: a step's own values are in the step uniform) into one submission. */
  private encode(programs: DecodeProgram[], clear: boolean): void {
    const encoder = this.device.createCommandEncoder({ label: 'train step' });
    if (clear) encoder.clearBuffer(this.gFinal);
    for (const program of programs) program.record(encoder, 0);
    this.device.queue.submit([encoder.finish()]);
  }

  /** One optimizer step on the uploaded batch; its loss lands in history[step]. */
  step(step: number, lr: number): void {
    this.writeStep(step, lr);
    this.encode([this.forwardProgram, this.backwardProgram, this.optimizerProgram], true);
  }

  /**
   * step() in two submissions: forwardStep() runs the step's forward (its loss lands in history[step], readable
   * before the update), finishStep() its backward and optimizer on the activations the forward left. The same
   * kernels on the same buffers in the same order as step(), so the run is the same to the bit.
   */
  forwardStep(step: number, lr: number): void {
    this.writeStep(step, lr);
    this.encode([this.forwardProgram], false);
  }

  finishStep(): void {
    this.encode([this.backwardProgram, this.optimizerProgram], true);
  }

  /**
   * Compile the pipelines of the forward ('forward') or of the whole step ('step'), side by side: a first loss
   * waits only for the forward's; the rest compile meanwhile when asked for early.
   */
  prepare(which: 'forward' | 'step'): Promise<void> {
    const programs = which === 'forward' ? [this.forwardProgram] : [this.forwardProgram, this.backwardProgram, this.optimizerProgram];
    return Promise.all(programs.map((p) => p.prepare())).then(() => {});
  }

  /** Forward and backward only (gradients land in `grads`; parameters unchanged). */
  gradients(): void {
    this.writeStep(0, 0);
    this.encode([this.forwardProgram, this.backwardProgram], true);
  }

  /** Forward only: loss into history[slot], predictions readable with readPredictions(). */
  forward(slot = 0): void {
    this.writeStep(slot, 0);
    this.encode([this.forwardProgram], false);
  }

  async read(buffer: GPUBuffer, floats?: number, offsetFloats = 0): Promise<Float32Array> {
    const pass = this.rt.begin('train readback');
    pass.read(buffer, floats ?? buffer.size / 4 - offsetFloats, offsetFloats);
    const [out] = await pass.submit();
    return out;
  }

  async readParams(): Promise<Float32Array> {
    return this.read(this.params, this.layout.total);
  }
  async readGrads(): Promise<Float32Array> {
    return this.read(this.grads, this.layout.total);
  }
  async readLosses(from: number, to: number): Promise<Float32Array> {
    return this.read(this.history, to - from, from);
  }
  async readPredictions(): Promise<Uint32Array> {
    return new Uint32Array((await this.read(this.pred, this.count)).buffer);
  }
  async readLogits(): Promise<Float32Array> {
    return this.read(this.buffers.get('logits')!, this.count * this.config.vocabSize);
  }

  /** Check the graph for validation errors (pipelines, bind groups) once, with typed errors. */
  async validate(): Promise<void> {
    await this.prepare('step');
    await checked(this.device, () => this.forward(0));
    await this.device.queue.onSubmittedWorkDone();
  }

  dispose(): void {
    this.rt.dispose();
  }
}

/** A layer's sizes (hymba-spec.md names): the forward and the backward of a layer start from them. */
function layerSizes(c: HymbaConfig, l: LayerSpec) {
  return { D: c.hiddenSize, E: c.dInner, S: c.dState, Rk: c.dtRank, F: c.intermediateSize, W3: c.dtRank + 2 * c.dState, T: l.rows.total };
}

/** Row stride of the buffer attention reads Q/K/V from: the dense conv output, or in_proj's output. */
function qkvStride(l: LayerSpec): number {
  return l.qkvConv > 0 ? l.qkvColumns : l.rows.total;
}

interface LayerBuffers {
  xin: GPUBuffer;
  rinv1: GPUBuffer;
  n1: GPUBuffer;
  P: GPUBuffer;
  /** lab_qkv_conv: the convolved Q/K/V columns, dense, and the conv's uniform. */
  QKV?: GPUBuffer;
  qkvU?: UniformValues<typeof K.CONV>;
  m: GPUBuffer;
  q?: GPUBuffer;
  k?: GPUBuffer;
  attnU: UniformValues<typeof K.ATTN>;
  probs: GPUBuffer;
  attn: GPUBuffer;
  rinvA: GPUBuffer;
  convU: UniformValues<typeof K.CONV>;
  pre: GPUBuffer;
  conv: GPUBuffer;
  sp: GPUBuffer;
  dtn: GPUBuffer;
  BC: GPUBuffer;
  rinvDt: GPUBuffer;
  rinvB: GPUBuffer;
  rinvC: GPUBuffer;
  u: GPUBuffer;
  dt: GPUBuffer;
  scanU: UniformValues<typeof K.SCAN>;
  scanY: GPUBuffer;
  states: GPUBuffer;
  ssmY: GPUBuffer;
  rinvS: GPUBuffer;
  mixer: GPUBuffer;
  xmid: GPUBuffer;
  rinv2: GPUBuffer;
  n2: GPUBuffer;
  gu: GPUBuffer;
  act: GPUBuffer;
  mlp: GPUBuffer;
  xout: GPUBuffer;
  gP?: GPUBuffer;
  gK?: GPUBuffer;
}
