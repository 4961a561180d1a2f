// Engines for lesson 8: random full-size weights for the speed run, and the reader's own checkpoint for the chat,
// streamed tensor by tensor (engine/checkpoint/stream.ts). No DOM here; the widgets own the UI.
import type { HymbaConfig } from '../../../engine/config.ts';
import type { Checkpoint, ModelFiles, Weight } from '../../../engine/checkpoint/load.ts';
import { readCheckpointLayout } from '../../../engine/checkpoint/load.ts';
import { readTensors, type StreamProgress } from '../../../engine/checkpoint/stream.ts';
import type { DecodeSession, SessionOptions } from '../../../engine/session/types.ts';
import type { GpuContext } from '../../../engine/webgpu/device.ts';
import { Tokenizer } from '../../../engine/tokenizer/index.ts';
import { argmax } from '../../../engine/sampling.ts';
import { CpuEngine } from '../../../engine/cpu/forward.ts';
import { estimateGpuMemory, parameterCount, type MemoryEstimate } from './full-size-model.ts';

/** What the widgets need of an engine: decode sessions (the WebGPU engine's, or the CPU reference's without WebGPU). */
export interface DisposableEngine {
  dispose(): void;
  session(opts: SessionOptions): DecodeSession | Promise<DecodeSession>;
}

/** The WebGPU engine's module, loaded when first needed (the page's other widgets do not pay for it). */
async function webGpuEngineClass() {
  return (await import('../../../engine/webgpu/engine.ts')).WebGpuEngine;
}

/** Models this small may run on the CPU reference engine when the browser has no WebGPU (lesson models, tests). */
const CPU_SESSION_LIMIT = 50e6;

export interface RandomEngine {
  engine: DisposableEngine;
}

/** Seeded random bf16 weights of `config`, generated on the GPU (WebGpuEngine.createRandom). */
export async function randomGpuEngine(gpu: GpuContext, config: HymbaConfig, say: (m: string) => void): Promise<RandomEngine> {
  say('Generating random bf16 weights on the GPU…');
  const { engine } = await (await webGpuEngineClass()).createRandom(gpu, config, { seed: 1, dtype: 'BF16' });
  return { engine };
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
    note: 'Timed on this GPU through WebGPU, logits read back after every token as a chat would.',
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
      backend: 'cpu',
      estimate,
      note: 'Running on the CPU reference engine: this browser has no WebGPU.',
    };
  }
  opts.say?.('Uploading to the GPU…');
  const engine = await (await webGpuEngineClass()).create(gpu, ck);
  weights.clear(); // the GPU has them now; drop the host copy
  return { config: c, label: layout.label, tokenizer, engine, backend: 'webgpu', estimate, note: '' };
}
