// `npm run hymba -- bench [--model DIR] [--backend cpu|webgpu] [--prompt N] [--steps N] [--json]`
// Prefill tokens/s and decode ms/token of a decode session, and what the precomputed meta-token state saves
// (hymba-spec.md §2.11), for the model of --model (if given) and a lesson-sized model with random weights.
// Backends come from session/open.node.ts: a backend added there is benchmarked here with no change.
//
// `npm run bench -- --preset hymba-1.5b [--layers N] [--prefill 128,1024,4096] [--contexts 1024,8000] [--steps N]
//   [--dtype bf16|f32] [--threads T --rows R] [--json]`
// The full-size WebGPU benchmark (bench/decode-bench.ts, docs/performance.md): random bf16 weights made on
// the GPU, copy-kernel roofline, prefill tok/s, decode ms/token, dispatches and bytes per token, % of bandwidth.
// Smoke run on SwiftShader: --layers 2 --prefill 16 --contexts 32 --steps 4.
import { UsageError, type Command } from '../args.ts';
import type { Checkpoint } from '../../checkpoint/load.ts';
import { parseConfig } from '../../config.ts';
import { mulberry32 } from '../../sampling.ts';
import { BACKENDS, openBackend } from '../../session/open.node.ts';
import { randomCheckpoint } from '../../session/random-checkpoint.ts';
import { choice, loadModelFolder } from './generate.ts';
import { getPreset } from '../../presets.ts';
import { benchDevice } from '../../webgpu/node-device.node.ts';
import { WebGpuSession } from '../../webgpu/session.ts';
// The benchmark code lives in bench/; this command is its entry point.
import { benchFullSize, decodeCost, formatFullSize } from '../../../bench/decode-bench.ts';

/** A lesson-sized Hymba (D = 64, 4 layers, vocab 512) with every feature: meta tokens, SWA + global, KV sharing. */
export const LESSON_CONFIG = {
  model_type: 'hymba',
  hidden_size: 64,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  intermediate_size: 128,
  vocab_size: 512,
  num_memory_tokens: 16,
  sliding_window: 32,
  global_attn_idx: [0, 3],
  kv_reuse_group: [[1, 2]],
  mamba_d_state: 16,
  rope_type: 'ntk',
  max_position_embeddings: 8192,
  orig_max_position_embeddings: 2048,
};

export interface BenchResult {
  model: string;
  backend: string;
  meta_tokens: number;
  prompt_tokens: number;
  decode_steps: number;
  prefill_ms: number;
  prefill_tokens_per_s: number;
  decode_ms_per_token: number;
  /** Opening the model's first session (which computes the meta state) minus opening a later one. */
  meta_state_ms: number;
  /** A prefill that runs the meta tokens itself (reuseMetaState: false). */
  prefill_recompute_meta_ms: number;
  /** What starting from the precomputed meta state saves on every prefill. */
  meta_saved_ms_per_prefill: number;
  /** GPU dispatches recorded per decoded token (null on the CPU backend, which dispatches nothing). */
  dispatches_per_token: number | null;
}

const REPEATS = 5;

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await f();
  return [r, performance.now() - t0];
}

export async function benchModel(label: string, ck: Checkpoint, backend: string, promptLen: number, steps: number): Promise<BenchResult> {
  const c = ck.config;
  const random = mulberry32(1);
  const prompt = [c.bosTokenId, ...Array.from({ length: promptLen - 1 }, () => Math.floor(random() * c.vocabSize))];
  const maxContext = promptLen + steps;
  // Warm-up (JIT, pipelines) on a host of its own, so that the timed runs below measure the steady state and the
  // timed host still has to compute its meta state.
  const warm = await openBackend(backend, ck);
  const w = await warm.open({ maxContext });
  await w.prefill(prompt);
  for (let i = 0; i < Math.min(steps, 4); i++) await w.step(prompt[i]);
  w.dispose();
  warm.dispose();

  const host = await openBackend(backend, ck);
  try {
    const [first, firstOpenMs] = await timed(() => host.open({ maxContext }));
    first.dispose();
    const [session, openMs] = await timed(() => host.open({ maxContext }));
    await session.prefill(prompt);
    const [, decodeMs] = await timed(async () => {
      for (let i = 0; i < steps; i++) await session.step(prompt[i % promptLen]);
    });
    const cost = session instanceof WebGpuSession ? decodeCost(session) : undefined;
    session.dispose();

    // Prefill with and without the precomputed meta state, alternating, best of REPEATS (the machine is shared).
    let prefillMs = Infinity;
    let recomputeMs = Infinity;
    for (let r = 0; r < REPEATS; r++) {
      for (const reuseMetaState of [true, false]) {
        const s = await host.open({ maxContext, reuseMetaState });
        const [, ms] = await timed(() => s.prefill(prompt));
        s.dispose();
        if (reuseMetaState) prefillMs = Math.min(prefillMs, ms);
        else recomputeMs = Math.min(recomputeMs, ms);
      }
    }
    return {
      model: label,
      backend,
      meta_tokens: c.numMetaTokens,
      prompt_tokens: promptLen,
      decode_steps: steps,
      prefill_ms: prefillMs,
      prefill_tokens_per_s: (promptLen / prefillMs) * 1000,
      decode_ms_per_token: decodeMs / steps,
      meta_state_ms: firstOpenMs - openMs,
      prefill_recompute_meta_ms: recomputeMs,
      meta_saved_ms_per_prefill: recomputeMs - prefillMs,
      dispatches_per_token: cost ? cost.dispatches : null,
    };
  } finally {
    host.dispose();
  }
}

function printTable(rows: BenchResult[]): void {
  const f = (n: number, d = 1) => n.toFixed(d);
  console.log(
    'model                      backend  meta  prompt  prefill tok/s  decode ms/tok  dispatches/tok  meta state ms  prefill w/o meta state ms  saved ms/prefill',
  );
  for (const r of rows) {
    console.log(
      `${r.model.padEnd(26)} ${r.backend.padEnd(8)} ${String(r.meta_tokens).padStart(4)}  ${String(r.prompt_tokens).padStart(6)}  ` +
        `${f(r.prefill_tokens_per_s).padStart(13)}  ${f(r.decode_ms_per_token, 2).padStart(13)}  ` +
        `${(r.dispatches_per_token === null ? '—' : String(r.dispatches_per_token)).padStart(14)}  ${f(r.meta_state_ms, 2).padStart(13)}  ` +
        `${f(r.prefill_recompute_meta_ms, 1).padStart(25)}  ${f(r.meta_saved_ms_per_prefill, 2).padStart(16)}`,
    );
  }
}

const bench: Command = {
  usage:
    'usage: npm run hymba -- bench [--model DIR] [--backend cpu|webgpu] [--prompt N] [--steps N] [--json]\n' +
    '       npm run bench -- --preset hymba-1.5b [--layers N] [--prefill 128,1024,4096] [--contexts 1024,8000] [--steps N]\n' +
    '         [--dtype bf16|f32] [--threads T --rows R] [--json]',
  flags: {
    model: 'string',
    backend: 'string',
    prompt: 'string',
    steps: 'string',
    json: 'boolean',
    preset: 'string',
    layers: 'string',
    prefill: 'string',
    contexts: 'string',
    dtype: 'string',
    threads: 'string',
    rows: 'string',
  },
  async run(args) {
    const presetName = args.string('preset');
    if (presetName !== undefined) {
      const preset = getPreset(presetName);
      if (preset.kind !== 'hymba')
        throw new UsageError(`--preset ${presetName} is not a Hymba model; the full-size benchmark runs Hymba presets`);
      const config = parseConfig(preset.config);
      const dtype = choice(args, 'dtype', ['bf16', 'f32'], 'bf16') === 'bf16' ? 'BF16' : 'F32';
      // A device of its own with timestamps where the adapter has them: GPU ms per token and the ceilings.
      const result = await benchFullSize(await benchDevice(['timestamp-query']), config, {
        layers: args.has('layers') ? args.int('layers', undefined, 1) : undefined,
        prefill: args.ints('prefill') ?? [128, 1024, 4096],
        contexts: args.ints('contexts') ?? [1024, 8000],
        steps: args.int('steps', 64, 1),
        dtype,
        decodeThreads: args.has('threads') ? args.int('threads', undefined, 1) : undefined,
        decodeRows: args.has('rows') ? args.int('rows', undefined, 1) : undefined,
        log: args.flag('json') ? undefined : (line) => console.error(line),
      });
      console.log(args.flag('json') ? JSON.stringify(result, null, 2) : formatFullSize(result));
      return;
    }
    const backend = choice(args, 'backend', BACKENDS, 'cpu');
    const promptLen = args.int('prompt', 128, 1);
    const steps = args.int('steps', 32, 1);
    const models: Array<[string, Checkpoint]> = [];
    const dir = args.string('model');
    if (dir !== undefined) models.push([dir, await loadModelFolder(dir)]);
    models.push(['lesson (random, D=64, L=4)', randomCheckpoint(parseConfig(LESSON_CONFIG), 0)]);
    const rows: BenchResult[] = [];
    for (const [label, ck] of models) {
      if (promptLen + steps > ck.config.maxPositionEmbeddings) {
        throw new UsageError(`--prompt ${promptLen} plus --steps ${steps} exceeds ${label}'s ${ck.config.maxPositionEmbeddings} positions`);
      }
      rows.push(await benchModel(label, ck, backend, promptLen, steps));
    }
    if (args.flag('json')) console.log(JSON.stringify(rows, null, 2));
    else printTable(rows);
  },
};

export default bench;
