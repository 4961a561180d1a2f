// Loading a Hugging Face Hymba model folder: config.json + model.safetensors, or shards listed in
// model.safetensors.index.json. Where the bytes come from (a folder in Node, URLs or File objects in the browser)
// is abstracted as ModelFiles, so one loader serves every host.

import { parseConfig, expectedTensors, ConfigError, brief, type HymbaConfig } from '../config.ts';
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
  /** Refuse (CheckpointError naming the file and size) a checkpoint with more tensor bytes, before reading them. */
  maxBytes?: number;
}

/**
 * Whether a name can only mean a file inside the model folder. Shard names come from a JSON file that may be
 * hostile, and every ModelFiles resolves them against a folder or URL: "../x", "a/b", "https:evil.com/x" or
 * "%2e%2e" (a URL's "..") must not reach outside it. Hugging Face names ("model-00001-of-00002.safetensors") pass.
 */
export function isPlainFileName(name: string): boolean {
  return /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/.test(name) && name.length <= 255;
}

/**
 * A tensor holding NaN or ±Inf values. A backend would compute with them without complaint and give plausible-looking
 * token ids, so a checkpoint is refused at load, naming the tensor and how many values are not finite.
 */
export class NonFiniteWeightsError extends CheckpointError {
  readonly count: number;
  readonly total: number;
  constructor(file: string, tensor: string, count: number, total: number, first: number) {
    super(file, `${count} of ${total} values are not finite (NaN or ±Inf; the first at flat index ${first})`, tensor);
    this.name = 'NonFiniteWeightsError';
    this.count = count;
    this.total = total;
  }
}

/**
 * Throw NonFiniteWeightsError when a float tensor's raw bytes hold a NaN or ±Inf: their exponent bits are all ones
 * (F32 0x7f800000, BF16 0x7f80, F16 0x7c00), so the check reads the bits and decodes nothing.
 */
export function checkFinite(file: string, w: Weight): void {
  const { bytes } = w;
  const width = w.dtype === 'F32' ? 4 : 2;
  const n = bytes.length / width;
  const mask = w.dtype === 'F32' ? 0x7f800000 : w.dtype === 'BF16' ? 0x7f80 : 0x7c00;
  // Aligned bytes are read as words in place (the host is little-endian, as the format is); others are copied.
  const aligned = bytes.byteOffset % width === 0 ? bytes : bytes.slice();
  const words =
    width === 4 ? new Uint32Array(aligned.buffer, aligned.byteOffset, n) : new Uint16Array(aligned.buffer, aligned.byteOffset, n);
  let count = 0;
  let first = -1;
  for (let i = 0; i < n; i++) {
    if ((words[i] & mask) >>> 0 === mask) {
      if (count === 0) first = i;
      count++;
    }
  }
  if (count > 0) throw new NonFiniteWeightsError(file, w.name, count, n, first);
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
  const headerBytes = await src.read(8, n);
  if (headerBytes.length !== n) throw new CheckpointError(src.name, `truncated: read ${headerBytes.length} of the ${n}-byte header`);
  return parseHeader(src.name, headerBytes, src.size);
}

/** model.safetensors.index.json → which shard file holds each tensor. */
function parseIndex(file: string, text: string): Map<string, string> {
  let index: unknown;
  try {
    index = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(file, `not valid JSON: ${(e as Error).message}`);
  }
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (weightMap === null || typeof weightMap !== 'object' || Array.isArray(weightMap)) {
    throw new CheckpointError(file, 'expected an object with a "weight_map" object (tensor name → shard file)');
  }
  const placement = new Map<string, string>();
  for (const [tensorName, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string' || !isPlainFileName(shard)) {
      throw new CheckpointError(
        file,
        `refused shard file name ${brief(shard)}: expected a plain file name in the model folder`,
        tensorName,
      );
    }
    placement.set(tensorName, shard);
  }
  return placement;
}

/** One tensor of a validated checkpoint: where its bytes are. */
export interface TensorPlacement {
  name: string;
  entry: TensorEntry;
  src: ByteSource;
}

/** A checkpoint whose config, index and headers were read and validated, before any tensor byte is. */
export interface CheckpointLayout {
  config: HymbaConfig;
  label: string;
  /** The expected tensors, in the config's order (a tied lm_head.weight, if present, is left out: it is never read). */
  tensors: TensorPlacement[];
  /** Every checkpoint file, in the order the index names them, with the bytes of the tensors read from it. */
  files: { src: ByteSource; tensorBytes: number }[];
  /** Bytes of all tensors that will be read. */
  totalBytes: number;
}

/**
 * Read config.json, the index (when there is one) and every shard's header, and check them all: every expected
 * tensor present once with its exact shape and a float dtype, nothing unexpected. Reads no tensor data.
 */
export async function readCheckpointLayout(files: ModelFiles): Promise<CheckpointLayout> {
  const configText = await readText(files, 'config.json');
  if (configText === null) throw new CheckpointError(`${files.label}/config.json`, 'missing: a model folder needs config.json');
  let config: HymbaConfig;
  try {
    config = parseConfig(configText);
  } catch (e) {
    if (e instanceof ConfigError)
      throw new ConfigError(e.key, `${e.message.replace(/^config\.json: "[^"]*": /, '')} (in ${files.label}/config.json)`);
    throw e;
  }

  // Which file holds which tensor: the index when there is one, else the single model.safetensors.
  const indexName = `${files.label}/model.safetensors.index.json`;
  const indexText = await readText(files, 'model.safetensors.index.json');
  const placement = indexText === null ? null : parseIndex(indexName, indexText);
  const shardNames = placement ? [...new Set(placement.values())] : ['model.safetensors'];
  const entries = new Map<string, { entry: TensorEntry; src: ByteSource }>();
  const shardSources: ByteSource[] = [];
  for (const shard of shardNames) {
    const src = await files.open(shard);
    if (!src) throw new CheckpointError(`${files.label}/${shard}`, 'missing: the checkpoint file is not in the model folder');
    shardSources.push(src);
    const header = await readHeader(src);
    for (const [name, entry] of header.tensors) {
      const other = entries.get(name);
      if (other) throw new CheckpointError(src.name, `appears in two shards (also in ${other.src.name})`, name);
      if (placement && placement.get(name) !== shard) {
        throw new CheckpointError(src.name, `is in this shard but the index places it in ${placement.get(name) ?? 'no shard'}`, name);
      }
      entries.set(name, { entry, src });
    }
  }
  if (placement) {
    for (const [name, shard] of placement) {
      if (!entries.has(name)) throw new CheckpointError(`${files.label}/${shard}`, 'missing: the index places it in this shard', name);
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
  for (const [name, { entry, src }] of entries) {
    if (expected.has(name)) continue;
    if (name === 'lm_head.weight' && config.tieWordEmbeddings) {
      // Some exporters keep the tied head: it must have the embedding's shape, and it is ignored (never read).
      const embedding = [config.vocabSize, config.hiddenSize];
      if (entry.shape.length !== 2 || entry.shape[0] !== embedding[0] || entry.shape[1] !== embedding[1]) {
        throw new CheckpointError(src.name, `wrong shape [${entry.shape}] for the tied head, expected [${embedding}]`, name);
      }
      continue;
    }
    throw new CheckpointError(src.name, 'unexpected tensor for this config', name);
  }

  const tensors = [...expected.keys()].map((name) => ({ name, ...entries.get(name)! }));
  const perFile = new Map<ByteSource, number>();
  for (const shard of shardSources) perFile.set(shard, 0);
  for (const t of tensors) perFile.set(t.src, perFile.get(t.src)! + t.entry.end - t.entry.begin);
  const totalBytes = tensors.reduce((a, t) => a + t.entry.end - t.entry.begin, 0);
  return { config, label: files.label, tensors, files: [...perFile].map(([src, tensorBytes]) => ({ src, tensorBytes })), totalBytes };
}

/**
 * Load and validate a whole checkpoint. Every problem is a ConfigError or CheckpointError naming what is wrong
 * (NonFiniteWeightsError for a tensor with NaN or ±Inf values).
 */
export async function loadCheckpoint(files: ModelFiles, opts: LoadOptions = {}): Promise<Checkpoint> {
  const { config, tensors, totalBytes: total, files: sources } = await readCheckpointLayout(files);
  if (opts.maxBytes !== undefined && total > opts.maxBytes) {
    const gb = (n: number) => `${(n / 1e9).toFixed(2)} GB`;
    const where = sources.length === 1 ? sources[0].src.name : `${files.label} (${sources.length} files)`;
    throw new CheckpointError(
      where,
      `holds ${gb(total)} of tensors, more than the ${gb(opts.maxBytes)} that may be loaded into memory here`,
    );
  }
  let loaded = 0;
  const weights = new Map<string, Weight>();
  for (const { name, entry, src } of tensors) {
    const bytes = await src.read(entry.begin, entry.end - entry.begin);
    if (bytes.length !== entry.end - entry.begin) {
      throw new CheckpointError(src.name, `truncated: read ${bytes.length} of ${entry.end - entry.begin} bytes`, name);
    }
    const weight: Weight = { name, dtype: entry.dtype as Weight['dtype'], shape: entry.shape, bytes };
    checkFinite(src.name, weight);
    weights.set(name, weight);
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
      if (!isPlainFileName(name)) throw new CheckpointError(`${base}${name}`, 'refused: not a plain file name in the model folder');
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
      // hasOwn: "__proto__" or "constructor" must not find Object.prototype's members.
      if (!Object.hasOwn(files, name)) return null;
      const f = files[name];
      return memorySource(`${label}/${name}`, typeof f === 'string' ? new TextEncoder().encode(f) : f);
    },
  };
}
