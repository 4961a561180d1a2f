// Engines for lesson 8: random full-size weights for the speed run, and the reader's own checkpoint for the chat,
// streamed tensor by tensor (engine/checkpoint/stream.ts). No DOM here; the widgets own the UI.
import type { HymbaConfig } from '../../../engine/config.ts';
import { expectedTensors } from '../../../engine/config.ts';
import type { Checkpoint, ModelFiles, Weight } from '../../../engine/checkpoint/load.ts';
import { readCheckpointLayout } from '../../../engine/checkpoint/load.ts';
import { readTensors, type StreamProgress } from '../../../engine/checkpoint/stream.ts';
import type { DecodeSession, SessionOptions } from '../../../engine/session/types.ts';
import type { GpuContext } from '../../../engine/webgpu/device.ts';
import { Tokenizer } from '../../../engine/tokenizer/index.ts';
import { argmax, mulberry32 } from '../../../engine/sampling.ts';
import { CpuEngine } from '../../../engine/cpu/forward.ts';
import { estimateGpuMemory, parameterCount, type MemoryEstimate } from './full-size-model.ts';

/** What the widgets need of an engine: decode sessions (the WebGPU engine's, or the CPU reference's for small models). */
export interface DisposableEngine {
  dispose(): void;
  session?: (opts: SessionOptions) => DecodeSession | Promise<DecodeSession>;
}

interface WebGpuEngineStatics {
  create(ctx: GpuContext, ck: Checkpoint): Promise<DisposableEngine>;
  /** Deterministic random weights generated on the GPU (added by the GPU decode work; used when present). */
  createRandom?: (
    ctx: GpuContext,
    config: HymbaConfig,
    opts: { seed: number; dtype: 'BF16' | 'F32' },
  ) => Promise<DisposableEngine | { engine: DisposableEngine }>;
}

async function webGpuEngineClass(): Promise<WebGpuEngineStatics> {
  const { WebGpuEngine } = await import('../../../engine/webgpu/engine.ts');
  return WebGpuEngine as unknown as WebGpuEngineStatics;
}

/** Models this small may decode on the CPU reference engine when the GPU engine has no sessions (lesson models, tests). */
const CPU_SESSION_LIMIT = 50e6;
/** Without GPU random init, random weights are made on the host: only for a few layers (a full 1.5B would be 3 GB of JS). */
const HOST_RANDOM_LAYER_LIMIT = 4;

export interface RandomEngine {
  engine: DisposableEngine;
  /** A CPU reference engine on the same weights, when the GPU engine has no decode sessions. */
  cpu: CpuEngine | null;
}

/** Random bf16 weights of `config` on the GPU: WebGpuEngine.createRandom when the build has it. */
export async function randomGpuEngine(gpu: GpuContext, config: HymbaConfig, say: (m: string) => void): Promise<RandomEngine> {
  const W = await webGpuEngineClass();
  if (W.createRandom) {
    say('Generating random bf16 weights on the GPU…');
    const made = await W.createRandom(gpu, config, { seed: 1, dtype: 'BF16' });
    return { engine: 'engine' in made ? made.engine : made, cpu: null };
  }
  if (config.numLayers > HOST_RANDOM_LAYER_LIMIT) {
    throw new Error(
      `This build's WebGPU engine cannot generate random weights on the GPU yet (WebGpuEngine.createRandom), and making ${config.numLayers} layers of them in JavaScript would take gigabytes. Set layers="${HOST_RANDOM_LAYER_LIMIT}" or fewer.`,
    );
  }
  say('Generating random bf16 weights (on the CPU: this build has no GPU random init)…');
  const ck = randomBf16Checkpoint(config, 1);
  const engine = await W.create(gpu, ck);
  return { engine, cpu: engine.session ? null : new CpuEngine(ck) };
}

/** Cheap random bf16 weights: uniform values at each tensor's fan-in scale, norm gains near 1 (speed runs only). */
function randomBf16Checkpoint(c: HymbaConfig, seed: number): Checkpoint {
  const rand = mulberry32(seed);
  const weights = new Map<string, Weight>();
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (const [name, shape] of expectedTensors(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const bits = new Uint16Array(n);
    const gain = /norm|layernorm/.test(name) || name.endsWith('D.0');
    const scale = gain ? 0.1 : 1 / Math.sqrt(shape[shape.length - 1]);
    for (let i = 0; i < n; i++) {
      f[0] = (gain ? 1 : 0) + (2 * rand() - 1) * scale;
      bits[i] = u[0] >>> 16;
    }
    weights.set(name, { name, dtype: 'BF16', shape, bytes: new Uint8Array(bits.buffer) });
  }
  return { config: c, weights, label: `random bf16 (seed ${seed})` };
}

/** Open a decode session on the engine, or on its CPU twin; throws a reader-facing message when neither can. */
export async function openSession(engine: DisposableEngine, cpu: CpuEngine | null, opts: SessionOptions): Promise<DecodeSession> {
  if (engine.session) return engine.session(opts);
  if (cpu) return cpu.session(opts);
  throw new Error(
    'This build of the WebGPU engine has no decode sessions yet (WebGpuEngine.session), so it cannot generate token by token.',
  );
}

export interface SpeedResult {
  /** Timed steps (fewer than asked when cancelled: `partial`). */
  steps: number;
  partial: boolean;
  layers: number;
  msPerToken: number;
  tokensPerSecond: number;
  /** Weight bytes + cache bytes read per decoded token (a lower bound on the memory traffic). */
  bytesPerToken: number;
  backend: 'webgpu' | 'cpu';
  note: string;
}

/**
 * Prefill BOS, one untimed warm-up step, then `steps` timed decode steps (greedy, logits read back each step).
 * `onToken(done)` after each timed step; `signal` stops it between tokens: the result then covers the steps done
 * (`partial`), or is null when none was.
 */
export async function measureDecode(
  session: DecodeSession,
  steps: number,
  config: HymbaConfig,
  backend: 'webgpu' | 'cpu',
  o: { onToken?: (done: number, phase: 'warm-up' | 'timed') => void; signal?: { aborted: boolean } } = {},
): Promise<SpeedResult | null> {
  let logits = (await session.prefill([config.bosTokenId])).logits;
  o.onToken?.(0, 'warm-up');
  if (o.signal?.aborted) return null;
  logits = (await session.step(argmax(logits))).logits;
  const t0 = performance.now();
  let done = 0;
  while (done < steps && !o.signal?.aborted) {
    logits = (await session.step(argmax(logits))).logits;
    o.onToken?.(++done, 'timed');
  }
  if (done === 0) return null;
  const ms = (performance.now() - t0) / done;
  return {
    steps: done,
    partial: done < steps,
    layers: config.numLayers,
    msPerToken: ms,
    tokensPerSecond: 1000 / ms,
    bytesPerToken: parameterCount(config) * 2 + session.cacheUsage().total_bytes,
    backend,
    note:
      backend === 'cpu'
        ? 'Timed on the CPU reference engine: this build of the WebGPU engine has no decode sessions yet.'
        : 'Timed on this GPU through WebGPU, logits read back after every token as a chat would.',
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The reader's checkpoint

export class ModelLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelLoadError';
  }
}

export interface ChatModel {
  config: HymbaConfig;
  label: string;
  tokenizer: Tokenizer;
  engine: DisposableEngine;
  cpu: CpuEngine | null;
  backend: 'webgpu' | 'cpu';
  estimate: MemoryEstimate;
  note: string;
}

/** What the loader needs to know first: config, sizes, the memory estimate (reads headers only). */
export async function inspectModel(files: ModelFiles, context: number) {
  const layout = await readCheckpointLayout(files);
  const embed = layout.tensors.find((t) => t.name === 'model.embed_tokens.weight')!;
  const bytesPerWeight = embed.entry.dtype === 'F32' ? 4 : 2;
  return { layout, estimate: estimateGpuMemory(layout.config, bytesPerWeight, context) };
}

async function readTokenizer(files: ModelFiles): Promise<Tokenizer> {
  const text = async (name: string) => {
    const src = await files.open(name);
    return src ? new TextDecoder().decode(await src.read(0, src.size)) : null;
  };
  const json = await text('tokenizer.json');
  if (json === null) {
    throw new ModelLoadError(
      `${files.label} has no tokenizer.json. Add tokenizer.json and tokenizer_config.json from the same model folder: the chat needs them to turn text into token ids.`,
    );
  }
  return Tokenizer.fromJson(json, (await text('tokenizer_config.json')) ?? undefined);
}

/**
 * Validate, check the memory needed against the device, read the tokenizer, then stream every tensor into the
 * engine. The host holds each tensor until the engine has uploaded it (the WebGPU engine builds from a checkpoint
 * object, so the tensors are gathered first and released as soon as it is built: one host copy at most, never the
 * file and its tensors twice).
 */
export async function loadChatModel(
  files: ModelFiles,
  gpu: GpuContext | null,
  opts: { context: number; onProgress?: (p: StreamProgress) => void; say?: (m: string) => void; signal?: AbortSignal },
): Promise<ChatModel> {
  const { layout, estimate } = await inspectModel(files, opts.context);
  const c = layout.config;
  const tokenizer = await readTokenizer(files);
  if (tokenizer.vocabSize > c.vocabSize) {
    throw new ModelLoadError(
      `the tokenizer has ${tokenizer.vocabSize} tokens but the model only ${c.vocabSize}: they are not from the same model`,
    );
  }
  const small = parameterCount(c) <= CPU_SESSION_LIMIT;
  if (!gpu && !small) throw new ModelLoadError('A model of this size needs WebGPU, and this browser has none (see the note above).');
  opts.say?.('Reading the weights…');
  const weights = new Map<string, Weight>();
  for await (const w of readTensors(layout, { onProgress: opts.onProgress, signal: opts.signal })) weights.set(w.name, w);
  const ck: Checkpoint = { config: c, weights, label: layout.label };
  if (!gpu) {
    return {
      config: c,
      label: layout.label,
      tokenizer,
      engine: new CpuEngine(ck),
      cpu: null,
      backend: 'cpu',
      estimate,
      note: 'Running on the CPU reference engine: this browser has no WebGPU.',
    };
  }
  opts.say?.('Uploading to the GPU…');
  const W = await webGpuEngineClass();
  const engine = await W.create(gpu, ck);
  let cpu: CpuEngine | null = null;
  let note = '';
  if (!engine.session) {
    if (!small) {
      engine.dispose();
      throw new ModelLoadError(
        'This build of the WebGPU engine has no decode sessions yet (WebGpuEngine.session), so it cannot chat with a model this size.',
      );
    }
    cpu = new CpuEngine(ck);
    note = 'Generating on the CPU reference engine: this build of the WebGPU engine has no decode sessions yet.';
  } else weights.clear(); // the GPU has them now; drop the host copy
  return { config: c, label: layout.label, tokenizer, engine, cpu, backend: cpu ? 'cpu' : 'webgpu', estimate, note };
}
