// The page's models as widgets use them: a zoo model loaded through the page's controller with download progress,
// its card (fetched once), and an engine whose passes go through the page's one work queue.
import type { BatchItem, BatchOptions, Engine, ForwardOptions, ForwardResult } from '../../../engine/model.ts';
import { formatAblation } from '../../../engine/ablation.ts';
import { CpuEngine } from '../../../engine/cpu/forward.ts';
import type { ModelCard } from '../../../engine/train/card.ts';
import { pageController, requestKey, type LoadedModel, type LoadProgress } from './engine-controller.ts';

/** Load a zoo model, reporting download progress to `onProgress` (null when done). */
export async function loadZooModel(name: string, onProgress: (p: LoadProgress | null) => void): Promise<LoadedModel> {
  const controller = pageController();
  const stop = controller.onProgress(name, onProgress);
  try {
    return await controller.load(name);
  } finally {
    stop();
    onProgress(null);
  }
}

/** Which engine a widget computes with: the page's tier (WebGPU when there is one) or the CPU reference engine. */
export type EngineChoice = 'auto' | 'cpu';
const cpuEngines = new WeakMap<LoadedModel, CpuEngine>();

/**
 * The engine for `choice`. engine="cpu" runs the CPU reference engine on the already loaded weights: for tiny models
 * on a software GPU (SwiftShader) it is the faster of the two.
 */
export function engineFor(m: LoadedModel, choice: EngineChoice): Engine {
  if (choice !== 'cpu' || m.tier === 'cpu') return m.engine;
  let e = cpuEngines.get(m);
  if (!e) cpuEngines.set(m, (e = new CpuEngine(m.checkpoint)));
  return e;
}

/**
 * Smaller defaults on the CPU tier (a browser without WebGPU): the sweeps measure at most this many fresh sequences
 * per point, so a lesson still fills in within seconds; the widgets print the number they used.
 */
const CPU_TIER_MAX_SEQUENCES = 6;
export function cpuTierSequences(m: LoadedModel, requested: number): number {
  return m.tier === 'cpu' ? Math.min(requested, CPU_TIER_MAX_SEQUENCES) : requested;
}

/** The tier note for `choice`. */
export function engineNote(m: LoadedModel, choice: EngineChoice): string {
  return choice === 'cpu' && m.tier !== 'cpu' ? 'Running on the CPU reference engine (engine="cpu").' : m.note;
}

const cards = new Map<string, Promise<ModelCard | null>>();

/**
 * A model's card.json, fetched once per model per page, or null when the model has none (it is optional: the
 * widgets measure everything live).
 */
export function loadCard(name: string): Promise<ModelCard | null> {
  let card = cards.get(name);
  if (!card) {
    card = pageController()
      .modelJson<ModelCard>(name, 'card.json')
      .catch(() => null);
    cards.set(name, card);
  }
  return card;
}

/**
 * The model's engine with every forward pass run through the page's work queue (one GPU, one queue), keyed by
 * model + ids + ablation: two widgets asking for the same pass share one run. A batched call (the WebGPU engine's
 * forwardBatch, which engine/analysis/recall.ts uses for a whole toggle's sequences) is one piece of work.
 */
export function queuedEngine(m: LoadedModel, choice: EngineChoice = 'auto'): Engine {
  const engine = engineFor(m, choice);
  const name = engine === m.engine ? m.name : `${m.name}@cpu`;
  const batched = engine.forwardBatch?.bind(engine);
  return {
    backend: engine.backend,
    config: engine.config,
    forward(ids: number[], opts: ForwardOptions = {}): Promise<ForwardResult> {
      if (opts.taps?.length) return engine.forward(ids, opts);
      const key = requestKey(name, 'forward', {
        ids: ids.join(' '),
        ablation: formatAblation(opts.ablation ?? []),
        meta: opts.meta ?? true,
        window: opts.window ?? 0,
      });
      return pageController().run(key, () => engine.forward(ids, opts));
    },
    ...(batched && {
      forwardBatch(items: BatchItem[], opts: BatchOptions = {}) {
        const key = requestKey(name, 'forwardBatch', {
          items: items.map((it) => `${it.ids.join(' ')}|${it.positions.join(' ')}|${formatAblation(it.ablation ?? [])}`).join('\n'),
          meta: opts.meta ?? true,
          window: opts.window ?? 0,
        });
        return pageController().run(key, () => batched(items, opts));
      },
      batchHint: engine.batchHint,
    }),
    steps: (ids, opts) => engine.steps(ids, opts),
    dispose: () => engine.dispose(),
  };
}
