// Loading a Hugging Face Hymba model folder: config.json + model.safetensors, or shards listed in
// model.safetensors.index.json. Where the bytes come from (a folder in Node, URLs or File objects in the browser)
// is abstracted as ModelFiles, so one loader serves every host.

import { parseConfig, expectedTensors, ConfigError, type HymbaConfig } from '../config.ts';
import { CheckpointError, headerLength, parseHeader, toFloat32, type TensorEntry, type DType } from './safetensors.ts';

export { CheckpointError, ConfigError };

/** Random access to one file's bytes. */
export interface ByteSource {
  name: string;
  size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A model folder: opens files by their name in the folder; null when the file does not exist. */
export interface ModelFiles {
  label: string;
  open(name: string): Promise<ByteSource | null>;
}

/** A weight as stored: raw little-endian bytes of its dtype (16-bit weights stay 16-bit until a backend decides). */
export interface Weight {
  name: string;
  dtype: 'F32' | 'F16' | 'BF16';
  shape: number[];
  bytes: Uint8Array;
}

export interface Checkpoint {
  config: HymbaConfig;
  weights: Map<string, Weight>;
  /** Where it came from, for messages. */
  label: string;
}

export interface LoadOptions {
  /** Called as tensor bytes arrive: loaded and total bytes. */
  onProgress?: (loaded: number, total: number) => void;
}

const cache = new WeakMap<Weight, Float32Array>();

/** A weight's values as float32 (decoded once, then cached). */
export function weightF32(w: Weight): Float32Array {
  let f = cache.get(w);
  if (!f) {
    f = toFloat32({ name: w.name, dtype: w.dtype, shape: w.shape, begin: 0, end: w.bytes.length }, w.bytes);
    cache.set(w, f);
  }
  return f;
}

async function readText(files: ModelFiles, name: string): Promise<string | null> {
  const src = await files.open(name);
  if (!src) return null;
  return new TextDecoder().decode(await src.read(0, src.size));
}

async function readHeader(src: ByteSource) {
  const first8 = await src.read(0, Math.min(8, src.size));
  const n = headerLength(src.name, first8, src.size);
  return parseHeader(src.name, await src.read(8, n), src.size);
}

/** Load and validate a whole checkpoint. Every problem is a ConfigError or CheckpointError naming what is wrong. */
export async function loadCheckpoint(files: ModelFiles, opts: LoadOptions = {}): Promise<Checkpoint> {
  const configText = await readText(files, 'config.json');
  if (configText === null) throw new CheckpointError(`${files.label}/config.json`, 'missing: a model folder needs config.json');
  let config: HymbaConfig;
  try {
    config = parseConfig(configText);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(e.key, `${e.message.replace(/^config\.json: "[^"]*": /, '')} (in ${files.label}/config.json)`);
    throw e;
  }

  // Which file holds which tensor.
  const sources = new Map<string, ByteSource>();
  const indexText = await readText(files, 'model.safetensors.index.json');
  const placement = new Map<string, string>();
  if (indexText !== null) {
    let index: { weight_map?: Record<string, string> };
    try {
      index = JSON.parse(indexText);
    } catch (e) {
      throw new CheckpointError(`${files.label}/model.safetensors.index.json`, `not valid JSON: ${(e as Error).message}`);
    }
    if (!index || typeof index.weight_map !== 'object' || index.weight_map === null) {
      throw new CheckpointError(`${files.label}/model.safetensors.index.json`, 'expected an object with a "weight_map"');
    }
    for (const [tensorName, file] of Object.entries(index.weight_map)) {
      if (typeof file !== 'string' || file.includes('/') || file.includes('\\') || file.startsWith('.')) {
        throw new CheckpointError(`${files.label}/model.safetensors.index.json`, `bad shard file name ${JSON.stringify(file)}`, tensorName);
      }
      placement.set(tensorName, file);
    }
  }
  const shardNames = indexText !== null ? [...new Set(placement.values())] : ['model.safetensors'];
  const entries = new Map<string, { entry: TensorEntry; src: ByteSource }>();
  for (const shard of shardNames) {
    const src = await files.open(shard);
    if (!src) throw new CheckpointError(`${files.label}/${shard}`, 'missing: the checkpoint file is not in the model folder');
    sources.set(shard, src);
    const header = await readHeader(src);
    for (const [name, entry] of header.tensors) {
      if (entries.has(name)) throw new CheckpointError(src.name, 'appears in two shards', name);
      if (indexText !== null && placement.get(name) !== shard) {
        throw new CheckpointError(src.name, `the index places it in ${placement.get(name) ?? 'no shard'}`, name);
      }
      entries.set(name, { entry, src });
    }
  }

  // Every expected tensor present with its exact shape; nothing unexpected.
  const expected = expectedTensors(config);
  for (const [name, shape] of expected) {
    const found = entries.get(name);
    if (!found) throw new CheckpointError(files.label, `missing tensor (expected shape [${shape}])`, name);
    const got = found.entry.shape;
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      throw new CheckpointError(found.src.name, `wrong shape [${got}], expected [${shape}] for this config`, name);
    }
    const dt: DType = found.entry.dtype;
    if (dt !== 'F32' && dt !== 'F16' && dt !== 'BF16') throw new CheckpointError(found.src.name, `dtype ${dt} is not a float type`, name);
  }
  for (const [name, { src }] of entries) {
    if (expected.has(name)) continue;
    if (name === 'lm_head.weight' && config.tieWordEmbeddings) {
      // A present lm_head in a tied model must equal the embedding shape; it is ignored (tied).
      continue;
    }
    throw new CheckpointError(src.name, 'unexpected tensor for this config', name);
  }

  const total = [...expected.keys()].reduce((a, n) => a + (entries.get(n)!.entry.end - entries.get(n)!.entry.begin), 0);
  let loaded = 0;
  const weights = new Map<string, Weight>();
  for (const name of expected.keys()) {
    const { entry, src } = entries.get(name)!;
    const bytes = await src.read(entry.begin, entry.end - entry.begin);
    if (bytes.length !== entry.end - entry.begin) {
      throw new CheckpointError(src.name, `truncated: read ${bytes.length} of ${entry.end - entry.begin} bytes`, name);
    }
    weights.set(name, { name, dtype: entry.dtype as Weight['dtype'], shape: entry.shape, bytes });
    loaded += bytes.length;
    opts.onProgress?.(loaded, total);
  }
  return { config, weights, label: files.label };
}

/** Model files served over HTTP (same origin or CORS), e.g. the site's bundled models. */
export function urlFiles(baseUrl: string, fetchImpl: typeof fetch = fetch): ModelFiles {
  const base = baseUrl.endsWith('/') ? baseUrl : baseUrl + '/';
  return {
    label: base,
    async open(name) {
      const url = new URL(name, base).href;
      let res: Response;
      try {
        res = await fetchImpl(url);
      } catch (e) {
        throw new CheckpointError(url, `could not be fetched: ${(e as Error).message}`);
      }
      if (res.status === 404) return null;
      if (!res.ok) throw new CheckpointError(url, `HTTP ${res.status} ${res.statusText}`);
      const buf = new Uint8Array(await res.arrayBuffer());
      return memorySource(url, buf);
    },
  };
}

/** Model files the reader picked (File objects from an <input type=file> or a drop). */
export function fileListFiles(list: ArrayLike<File>, label = 'selected files'): ModelFiles {
  const byName = new Map<string, File>();
  for (let i = 0; i < list.length; i++) byName.set(list[i].name, list[i]);
  return {
    label,
    async open(name) {
      const f = byName.get(name);
      if (!f) return null;
      return {
        name: f.name,
        size: f.size,
        async read(offset, length) {
          return new Uint8Array(await f.slice(offset, offset + length).arrayBuffer());
        },
      };
    },
  };
}

/** A file held in memory. */
export function memorySource(name: string, bytes: Uint8Array): ByteSource {
  return {
    name,
    size: bytes.length,
    async read(offset, length) {
      return bytes.subarray(offset, Math.min(bytes.length, offset + length));
    },
  };
}

/** A model folder held in memory (tests, models trained in the page). */
export function memoryFiles(label: string, files: Record<string, Uint8Array | string>): ModelFiles {
  return {
    label,
    async open(name) {
      const f = files[name];
      if (f === undefined) return null;
      return memorySource(`${label}/${name}`, typeof f === 'string' ? new TextEncoder().encode(f) : f);
    },
  };
}
