// One engine controller per page (after Distill's controller.js): widgets ask it for models and for work; it
//  - loads each model once, by URL, and shares it between widgets (two widgets on `hymba` download it once);
//  - picks a capability tier: the WebGPU engine on the page's one GPU device, else the CPU reference engine with an
//    honest note that says why;
//  - queues work until the model is ready and runs one piece of work at a time (one GPU, one queue);
//  - answers identical requests once (key = model + op + settings): concurrent askers share one run, and a recent
//    result is reused;
//  - turns failures into sentences a reader can act on ("model not found at …", "WebGPU is not available …"), and
//    after a lost device forgets what it loaded there, so the next request acquires a new device and reloads.
import type { Engine } from '../../../engine/model.ts';
import type { ByteSource, Checkpoint, ModelFiles } from '../../../engine/checkpoint/load.ts';
import { loadCheckpoint, memorySource, isPlainFileName } from '../../../engine/checkpoint/load.ts';
import { CpuEngine } from '../../../engine/cpu/forward.ts';
import type { GpuContext } from '../../../engine/webgpu/device.ts';
import { assetBase } from './asset-base.ts';
import { getPageGpu } from './gpu.ts';

export type Tier = 'webgpu' | 'cpu';

export interface LoadedModel {
  name: string;
  /** The folder URL it was loaded from (ends in /). */
  url: string;
  engine: Engine;
  checkpoint: Checkpoint;
  tier: Tier;
  /** Shown by widgets when the tier is not WebGPU, e.g. "Running on the CPU: WebGPU is not available here …". */
  note: string;
}

export interface LoadProgress {
  model: string;
  loaded: number;
  /** 0 while unknown. */
  total: number;
}

/** Builds the WebGPU engine for a checkpoint on a device; absent where the WebGPU engine is not available. */
export type WebGpuEngineFactory = (ck: Checkpoint, gpu: GpuContext) => Promise<Engine>;

export class ModelNotFoundError extends Error {
  readonly url: string;
  constructor(url: string) {
    super(`model not found at ${url} (no config.json there). Train it or copy it into models/ and rebuild the site.`);
    this.name = 'ModelNotFoundError';
    this.url = url;
  }
}

export class ModelNameError extends Error {
  constructor(name: string) {
    super(`"${name.slice(0, 40)}" is not a model name (letters, digits, "-" and "_" only)`);
    this.name = 'ModelNameError';
  }
}

export interface ControllerOptions {
  /** The site base URL that models/ lives under (default: assetBase(): the site's, or the embed bundle's own). */
  base?: string;
  fetch?: typeof fetch;
  /** The page's GPU; rejects when there is none (default: none, so CPU). */
  gpu?: () => Promise<GpuContext>;
  /** How to build the WebGPU engine (default: none, so CPU). */
  webgpuEngine?: () => Promise<WebGpuEngineFactory | null>;
  /** Recent results kept for identical requests. */
  resultCacheSize?: number;
  /**
   * The model files the site has, as "<name>/<file>" (default: what models/ held at build time). Asking for a file
   * not listed answers "not there" without a request: a 404 would be a console error in every lesson that mentions
   * a model before it is trained. null: unknown, ask the server.
   */
  siteFiles?: ReadonlySet<string> | null;
}

export class EngineController {
  readonly base: string;
  private readonly fetchImpl: typeof fetch;
  private readonly gpu?: () => Promise<GpuContext>;
  private readonly webgpuEngine?: () => Promise<WebGpuEngineFactory | null>;
  private readonly models = new Map<string, Promise<LoadedModel>>();
  private readonly progressListeners = new Map<string, Set<(p: LoadProgress) => void>>();
  private readonly lastProgress = new Map<string, LoadProgress>();
  private readonly results = new Map<string, Promise<unknown>>();
  private readonly resultCacheSize: number;
  /** The end of the work queue: each piece of work starts when the previous one has settled. */
  private tail: Promise<unknown> = Promise.resolve();
  /** How many times a piece of work actually ran (tests read it to see deduplication). */
  runs = 0;

  constructor(opts: ControllerOptions = {}) {
    this.base = opts.base ?? assetBase();
    this.fetchImpl = opts.fetch ?? ((...a) => fetch(...a));
    this.gpu = opts.gpu;
    this.webgpuEngine = opts.webgpuEngine;
    this.resultCacheSize = opts.resultCacheSize ?? 32;
    this.siteFiles = opts.siteFiles === undefined ? builtModelFiles() : opts.siteFiles;
  }

  /** The model files the site has (see ControllerOptions.siteFiles); tests set null to serve extra models. */
  siteFiles: ReadonlySet<string> | null;

  /** Whether the site has this file of this model (true when unknown: then the server decides). */
  private hasFile(name: string, file: string): boolean {
    return this.siteFiles === null || this.siteFiles.has(`${name}/${file}`);
  }

  /** The folder URL of a zoo model: `<base>models/<name>/`. Names are plain, so a URL setting cannot point off-site. */
  modelUrl(name: string): string {
    if (!isPlainFileName(name) || name.includes('.')) throw new ModelNameError(name);
    return new URL(`models/${name}/`, this.base).href;
  }

  /** Follow a model's download: called with bytes loaded so far (and at once with the latest, if loading). */
  onProgress(name: string, listener: (p: LoadProgress) => void): () => void {
    let set = this.progressListeners.get(name);
    if (!set) this.progressListeners.set(name, (set = new Set()));
    set.add(listener);
    const last = this.lastProgress.get(name);
    if (last) listener(last);
    return () => set.delete(listener);
  }

  /** A zoo model, loaded once per page. A failed load is forgotten, so asking again retries. */
  load(name: string): Promise<LoadedModel> {
    let p = this.models.get(name);
    if (!p) {
      p = this.loadUncached(name);
      this.models.set(name, p);
      p.catch(() => this.models.get(name) === p && this.models.delete(name));
    }
    return p;
  }

  /** Whether the model has files on the site (config.json answers), without loading it. */
  async exists(name: string): Promise<boolean> {
    if (!this.hasFile(name, 'config.json')) return false;
    try {
      const res = await this.fetchImpl(new URL('config.json', this.modelUrl(name)).href, { method: 'HEAD' });
      return res.ok;
    } catch {
      return false;
    }
  }

  /** A small JSON file of a model folder (e.g. card.json); null when it is not there. */
  async modelJson<T = unknown>(name: string, file: string): Promise<T | null> {
    if (!isPlainFileName(file)) throw new ModelNameError(file);
    const url = new URL(file, this.modelUrl(name)).href;
    if (!this.hasFile(name, file)) return null;
    const res = await this.fetchImpl(url);
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    try {
      return (await res.json()) as T;
    } catch (e) {
      throw new Error(`${url} is not valid JSON: ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * Run `work` in the page's queue, once per `key`: a request with the key of one in flight, or of a recent
   * success, gets that result. Build keys with requestKey(). A failure is not kept, so the next request retries.
   */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const known = this.results.get(key);
    if (known) {
      // Most recently used last, so the oldest result is evicted first.
      this.results.delete(key);
      this.results.set(key, known);
      return known as Promise<T>;
    }
    const result = this.tail.then(() => {
      this.runs++;
      return work();
    });
    this.tail = result.catch(() => undefined);
    this.results.set(key, result);
    result.catch(() => this.results.get(key) === result && this.results.delete(key));
    while (this.results.size > this.resultCacheSize) this.results.delete(this.results.keys().next().value!);
    return result;
  }

  /** GPU bytes held by the WebGPU engines of the loaded models (0 on the CPU tier); the leak check reads it. */
  async allocatedBytes(): Promise<number> {
    let bytes = 0;
    for (const loading of this.models.values()) {
      const m = await loading.catch(() => null);
      const engine = m?.engine as { allocatedBytes?: () => number } | undefined;
      if (m?.tier === 'webgpu' && engine?.allocatedBytes) bytes += engine.allocatedBytes();
    }
    return bytes;
  }

  /** Drop a model (after its device was lost) and every result computed with it. */
  forget(name: string): void {
    this.models.delete(name);
    for (const key of [...this.results.keys()]) if (key.startsWith(`${name}|`)) this.results.delete(key);
  }

  private emit(p: LoadProgress): void {
    this.lastProgress.set(p.model, p);
    for (const l of this.progressListeners.get(p.model) ?? []) l(p);
  }

  private async loadUncached(name: string): Promise<LoadedModel> {
    const url = this.modelUrl(name);
    if (!this.hasFile(name, 'config.json')) throw new ModelNotFoundError(url);
    // The device and the engine's code load while the weights download (a first figure comes that much sooner);
    // their failures are kept, not thrown, until the weights are in (a model error is the one to report first).
    const gpuReady = this.gpu && this.webgpuEngine ? settled(this.gpu()) : null;
    const factoryReady = gpuReady && this.webgpuEngine ? settled(this.webgpuEngine()) : null;
    const fetched = progressFiles(url, this.fetchImpl, (loaded, total) => this.emit({ model: name, loaded, total }));
    // The build lists a model's JSON files (config, card, shard index): one it does not list is not fetched (a 404
    // would be a console error). Weights are not listed, so they are always fetched.
    const files: ModelFiles = {
      label: fetched.label,
      open: async (file) => (file.endsWith('.json') && !this.hasFile(name, file) ? null : fetched.open(file)),
    };
    const configSource = await files.open('config.json');
    if (!configSource) throw new ModelNotFoundError(url);
    const checkpoint = await loadCheckpoint(files);
    this.lastProgress.delete(name);

    let note = '';
    if (gpuReady && factoryReady) {
      const g = await gpuReady;
      const gpu: GpuContext | null = 'value' in g ? g.value : null;
      if ('error' in g) note = `Running on the CPU (slower): ${(g.error as Error).message}`;
      const f = await factoryReady;
      if (gpu && 'error' in f) throw f.error;
      const factory = gpu && 'value' in f ? f.value : null;
      if (gpu && factory) {
        const engine = await factory(checkpoint, gpu);
        // A lost device takes this engine with it: forget the model so the next request reloads on a new device.
        void gpu.lost.then(() => this.forget(name));
        return { name, url, engine, checkpoint, tier: 'webgpu', note: '' };
      }
      if (gpu && !factory) note = 'Running on the CPU reference engine: the WebGPU engine is not part of this build.';
    } else {
      note = 'Running on the CPU reference engine (slower than WebGPU).';
    }
    return { name, url, engine: new CpuEngine(checkpoint), checkpoint, tier: 'cpu', note };
  }
}

/** A promise's outcome without its rejection escaping unhandled (it is looked at later). */
function settled<T>(p: Promise<T>): Promise<{ value: T } | { error: unknown }> {
  return p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

/** The dedupe key of a request: model + op + its settings (in a fixed key order, so {a,b} and {b,a} agree). */
export function requestKey(model: string, op: string, settings: Record<string, unknown> = {}): string {
  const sorted = Object.keys(settings)
    .sort()
    .map((k) => [k, settings[k]]);
  return `${model}|${op}|${JSON.stringify(sorted)}`;
}

/**
 * Model files over HTTP that report download progress as the bytes stream in (urlFiles reports only once a file
 * has fully arrived). 404 → null, like every ModelFiles.
 */
function progressFiles(baseUrl: string, fetchImpl: typeof fetch, onBytes: (loaded: number, total: number) => void): ModelFiles {
  let loaded = 0;
  let total = 0;
  // Each file is fetched once, however often the loader opens it.
  const opened = new Map<string, Promise<ByteSource | null>>();

  async function fetchFile(name: string): Promise<ByteSource | null> {
    if (!isPlainFileName(name)) throw new Error(`${baseUrl}${name}: refused, not a plain file name in the model folder`);
    const url = new URL(name, baseUrl).href;
    let res: Response;
    try {
      res = await fetchImpl(url);
    } catch (e) {
      throw new Error(`${url} could not be fetched: ${(e as Error).message}`, { cause: e });
    }
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${res.statusText}`);
    total += Number(res.headers.get('content-length')) || 0;
    if (!res.body) {
      const bytes = new Uint8Array(await res.arrayBuffer());
      loaded += bytes.length;
      onBytes(loaded, total);
      return memorySource(url, bytes);
    }
    const chunks: Uint8Array[] = [];
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.length;
      onBytes(loaded, total);
    }
    const bytes = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    return memorySource(url, bytes);
  }

  return {
    label: baseUrl,
    open(name) {
      let p = opened.get(name);
      if (!p) opened.set(name, (p = fetchFile(name)));
      return p;
    },
  };
}

let page: EngineController | undefined;

/**
 * The page's controller. In the browser it uses the page's one GPU device (gpu.ts getPageGpu) and the WebGPU
 * engine when the build has one.
 */
export function pageController(): EngineController {
  if (!page) {
    page = new EngineController({
      gpu: getPageGpu,
      webgpuEngine: findWebGpuEngine,
    });
  }
  return page;
}

/** Format a byte count for readers: 918 MB, 4.2 kB (decimal units, as the paper). */
export function formatBytes(n: number): string {
  if (n < 1e3) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let u = -1;
  let x = n;
  while (x >= 1e3 && u < units.length - 1) {
    x /= 1e3;
    u++;
  }
  return `${x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)} ${units[u]}`;
}

// Which zoo model files this build has (keys only: nothing is loaded through these imports).
const builtModules = import.meta.glob([
  '../../../models/*/config.json',
  '../../../models/*/card.json',
  '../../../models/*/model.safetensors.index.json',
  '../../../models/*/tokenizer.json',
]);

function builtModelFiles(): ReadonlySet<string> {
  return new Set(Object.keys(builtModules).map((p) => p.split('/models/')[1]));
}

/** The WebGPU engine, loaded only when a model is (it is the larger part of the engine code). */
async function findWebGpuEngine(): Promise<WebGpuEngineFactory | null> {
  const { WebGpuEngine } = await import('../../../engine/webgpu/engine.ts');
  return (ck, gpu) => WebGpuEngine.create(gpu, ck);
}
