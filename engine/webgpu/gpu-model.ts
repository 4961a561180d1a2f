// What the WebGPU engine (engine.ts) and its decode sessions (session.ts) share: one model on one device. The engine
// uploads it (`uploadModel`) and hands it to each session; neither reads the other's fields.
//
//   weights      every tensor as the kernels bind it (matrices at their stored dtype, chunked; vectors as f32)
//   ropeCosSin   cos/sin of every RoPE angle up to the position limit (kernels/rope.ts says why a table)
//   rt           the runtime: pipeline cache, buffer pool, one command encoder per pass
//   decode       the decode GEMVs' shape (WebGpuEngineOptions; a benchmark may change it between sessions)
//   metaStates   the meta tokens' state per ablation, computed by the first session that needs it
//   chunkPass    the engine's prefill pass over a session's state (prefill, and decode steps that record taps)

import { ropeBase, type HymbaConfig } from '../config.ts';
import { ropeInvFreq } from '../cpu/ops.ts';
import type { ForwardOptions } from '../model.ts';
import type { Tensor } from '../tensor.ts';
import type { GemvShape } from './kernels/gemv.ts';
import { ropeTable } from './kernels/rope.ts';
import type { GpuRuntime } from './runtime.ts';
import { planWeights, type GpuMatrix, type PlannedWeight, type WeightDType, type WeightSource } from './weights.ts';

export interface LayerWeights {
  inputNorm: GPUBuffer;
  inProj: GpuMatrix;
  // SSM branch
  convW: GPUBuffer | null;
  convB: GPUBuffer | null;
  /** lab_qkv_conv taps [qkvColumns, W] (f32), or null. */
  qkvConvW: GPUBuffer | null;
  xProj: GpuMatrix | null;
  dtNorm: GPUBuffer | null;
  bNorm: GPUBuffer | null;
  cNorm: GPUBuffer | null;
  dtProj: GpuMatrix | null;
  dtBias: GPUBuffer | null;
  AD: GPUBuffer | null;
  /** [dt bias (E) | dt_layernorm (R) | B_layernorm (S) | C_layernorm (S)]: the decode SSM step reads them from one buffer. */
  ssmPack: GPUBuffer | null;
  // fusion gains (host copies too, to fold ablation masks in)
  norm1: { gpu: GPUBuffer; host: Float32Array } | null;
  norm2: { gpu: GPUBuffer; host: Float32Array } | null;
  outProj: GpuMatrix;
  preMoeNorm: GPUBuffer;
  gate: GpuMatrix;
  up: GpuMatrix;
  down: GpuMatrix;
}

export interface ModelWeights {
  embed: GpuMatrix;
  meta: GpuMatrix | null;
  head: GpuMatrix;
  finalNorm: GPUBuffer;
  /** Zeros: the conv state at the start of a sequence, and the conv bias when the model has none. */
  zeros: GPUBuffer;
  layers: LayerWeights[];
  /** What the weights are (checkpoint label or random seed) and the matrices' stored dtype. */
  label: string;
  dtype: WeightDType;
  /** The weight set as it is on the GPU: matrices at their stored dtype and chunking, vectors as f32. */
  planned: PlannedWeight[];
}

/** The decode GEMVs' shape and the decode step's fusions (WebGpuEngineOptions decode*). */
export interface DecodeShape {
  threads: number;
  rows: number | undefined;
  stage: boolean;
  unroll: number;
  merge: boolean;
  /** decodeSubgroups asked for and usable on this device. */
  subgroups: boolean;
}

/**
 * What a session's chunk starts from (session.ts): the chunk's rows sit at positions pos0 …, the first `metaRows`
 * of them are meta tokens; attention reads [cache ; chunk], conv and SSM start from the session's state, and the
 * chunk's K/V are committed into the caches at the end.
 */
export interface ChunkState {
  pos0: number;
  metaRows: number;
  /** Meta tokens of the session's sequence (the mask's always-visible prefix). */
  numMeta: number;
  /** The SWA window of this chunk's mask (prefill: W; an `hf` decode step: W − 1). */
  window: number;
  kv: Array<{ k: GPUBuffer; v: GPUBuffer; ring: number } | null>;
  conv: Array<GPUBuffer | null>;
  ssm: Array<GPUBuffer | null>;
  /** Per attention layer with lab_qkv_conv W > 1: the last W − 1 pre-conv Q/K/V rows [qkvColumns, W − 1]. */
  qkvConv: Array<GPUBuffer | null>;
}

/** One chunk through the prefill pass: the logits of its last row and the wanted taps without the meta rows. */
export type ChunkPass = (
  ids: number[],
  chunk: ChunkState,
  opts: ForwardOptions,
  wanted: Set<string>,
) => Promise<{ logits: Float32Array; taps: Map<string, Tensor> }>;

export interface GpuModel {
  readonly config: HymbaConfig;
  readonly rt: GpuRuntime;
  readonly weights: ModelWeights;
  readonly ropeCosSin: GPUBuffer;
  readonly decode: DecodeShape;
  /** The model's meta-token state per ablation key, on the GPU (session.ts computes it once, copies it per session). */
  readonly metaStates: Map<string, unknown>;
  readonly chunkPass: ChunkPass;
}

/** The GEMV shape of one-row linears and decode steps (solo, one invocation per row, on the 'cpu-like' profile). */
export function gemvShape(m: Pick<GpuModel, 'decode' | 'rt'>): GemvShape {
  return { threads: m.decode.threads, rows: m.decode.rows, solo: m.rt.profile === 'cpu-like' };
}

/** Upload a model's weights (matrices in chunks of at most maxBinding bytes) and its RoPE table. */
export function uploadModel(rt: GpuRuntime, src: WeightSource, maxBinding: number): { weights: ModelWeights; ropeCosSin: GPUBuffer } {
  const c = src.config;
  const matrices: GpuMatrix[] = [];
  const mat = (name: string) => {
    const m = src.matrix(rt, name, maxBinding);
    matrices.push(m);
    return m;
  };
  const host = (name: string) => src.vector(name);
  const vec = (name: string) => rt.upload(host(name), name);

  const embed = mat('model.embed_tokens.weight');
  const meta = c.numMetaTokens > 0 ? mat('model.memory_tokens') : null;
  const head = c.tieWordEmbeddings ? embed : mat('lm_head.weight');
  const finalNorm = vec('model.final_layernorm.weight');
  const ropeCosSin = rt.upload(ropeTable(ropeInvFreq(c.qkHeadDim, ropeBase(c)), c.maxPositionEmbeddings + c.numMetaTokens), 'rope-cos-sin');
  const qkvState = Math.max(0, ...c.layers.map((l) => l.qkvColumns * (l.qkvConv - 1)));
  const zeros = rt.create(4 * Math.max(c.dInner * Math.max(c.dConv - 1, 1), qkvState), 'zeros');
  const layers = c.layers.map((l): LayerWeights => {
    const p = `model.layers.${l.index}.`;
    const ssm = l.hasSsm;
    let AD: GPUBuffer | null = null;
    if (ssm) {
      // A = −exp(A_log) in f32, as the CPU reference computes it; D appended (the scan reads both from one buffer).
      const A = host(p + 'mamba.A_log.0').map((a) => -Math.exp(a));
      const D = host(p + 'mamba.D.0');
      const ad = new Float32Array(A.length + D.length);
      ad.set(A);
      ad.set(D, A.length);
      AD = rt.upload(ad, p + 'A;D');
    }
    const gain = (name: string) => {
      const h = host(name);
      return { gpu: rt.upload(h, name), host: h };
    };
    let ssmPack: GPUBuffer | null = null;
    if (ssm) {
      const parts = ['mamba.dt_proj.0.bias', 'mamba.dt_layernorm.weight', 'mamba.B_layernorm.weight', 'mamba.C_layernorm.weight'].map((n) =>
        host(p + n),
      );
      const pack = new Float32Array(parts.reduce((a, v) => a + v.length, 0));
      let at = 0;
      for (const v of parts) {
        pack.set(v, at);
        at += v.length;
      }
      ssmPack = rt.upload(pack, p + 'ssm-pack');
    }
    return {
      inputNorm: vec(p + 'input_layernorm.weight'),
      inProj: mat(p + 'mamba.in_proj.weight'),
      convW: ssm ? vec(p + 'mamba.conv1d.weight') : null,
      convB: ssm && c.convBias ? vec(p + 'mamba.conv1d.bias') : null,
      qkvConvW: l.qkvConv > 0 ? vec(p + 'mamba.qkv_conv.weight') : null,
      xProj: ssm ? mat(p + 'mamba.x_proj.0.weight') : null,
      dtNorm: ssm ? vec(p + 'mamba.dt_layernorm.weight') : null,
      bNorm: ssm ? vec(p + 'mamba.B_layernorm.weight') : null,
      cNorm: ssm ? vec(p + 'mamba.C_layernorm.weight') : null,
      dtProj: ssm ? mat(p + 'mamba.dt_proj.0.weight') : null,
      dtBias: ssm ? vec(p + 'mamba.dt_proj.0.bias') : null,
      AD,
      ssmPack,
      norm1: l.hasAttention ? gain(p + 'mamba.pre_avg_layernorm1.weight') : null,
      norm2: ssm ? gain(p + 'mamba.pre_avg_layernorm2.weight') : null,
      outProj: mat(p + 'mamba.out_proj.weight'),
      preMoeNorm: vec(p + 'pre_moe_layernorm.weight'),
      gate: mat(p + 'moe.experts.0.gate_proj.weight'),
      up: mat(p + 'moe.experts.0.up_proj.weight'),
      down: mat(p + 'moe.experts.0.down_proj.weight'),
    };
  });
  const byName = new Map(matrices.map((m) => [m.name, m]));
  const planned = planWeights(c, 'F32', maxBinding).map((w) => {
    const m = byName.get(w.name);
    if (!m) return w;
    const bytes = m.chunks.reduce((a, ch) => a + ch.rows * m.cols, 0) * (m.dtype === 'F32' ? 4 : 2);
    return { ...w, dtype: m.dtype, chunkRows: m.chunks.map((ch) => ch.rows), bytes };
  });
  const weights: ModelWeights = {
    embed,
    meta,
    head,
    finalNorm,
    zeros,
    layers,
    label: src.label,
    dtype: embed.dtype,
    planned,
  };
  return { weights, ropeCosSin };
}
