// Keeping a model the reader brought (3 GB for Hymba-1.5B) in the browser, so a reload does not fetch it again.
//
// The Origin Private File System (navigator.storage.getDirectory()) is preferred: files are written chunk by chunk
// and read back with File.slice, so neither saving nor loading holds a whole file in memory. Where OPFS is missing,
// the Cache API stores each file as a Response (streamed in) and reads it back as a Blob. Each model lives under its
// id with its config and tokenizer files; a manifest written last marks a complete copy, so an interrupted save is
// never mistaken for a stored model.
//
// Each save writes into a new copy folder beside the one in use, and only a complete copy is swapped in (by writing
// the manifest that names its folder), so re-saving a model and breaking off (a cut download, a full disk, a closed
// tab) leaves the good copy as it was. list() and files() check that a copy's files are all there, at their sizes.
//
// Only the browser's standard storage interfaces are used (no DOM); the widget passes navigator.storage and caches.

import { CheckpointError, isPlainFileName, type ByteSource, type ModelFiles } from './load.ts';

/** The files a Hymba model folder may have: config, checkpoint (single or index + shards), tokenizer. */
export const MODEL_FILE_NAMES = [
  'config.json',
  'model.safetensors.index.json',
  'model.safetensors',
  'tokenizer.json',
  'tokenizer_config.json',
];

const ROOT = 'hymba-lab-models';
const MANIFEST = 'hymba-manifest.json';
const CHUNK = 16 * 1024 * 1024;

export interface StoredModel {
  id: string;
  files: { name: string; size: number }[];
  bytes: number;
  savedAt: string;
  backend: 'opfs' | 'cache';
  /** The copy folder that holds the files; absent in copies saved before there were folders (files beside the manifest). */
  folder?: string;
}

/** Not enough room: says how much the browser allows for this site and how much the model needs. */
export class StorageQuotaError extends Error {
  readonly quota: number;
  readonly available: number;
  readonly needed: number;
  constructor(quota: number, available: number, needed: number) {
    const gb = (n: number) => `${(n / 1e9).toFixed(2)} GB`;
    super(
      `your browser allows ${gb(quota)} for this site (${gb(available)} of it free); the model needs ${gb(needed)}. ` +
        'Free space (or use a browser profile with more disk), or load the model without keeping it.',
    );
    this.name = 'StorageQuotaError';
    this.quota = quota;
    this.available = available;
    this.needed = needed;
  }
}

export class ModelStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelStoreError';
  }
}

export interface SaveOptions {
  onProgress?: (saved: number, total: number, file: string) => void;
  signal?: AbortSignal;
}

export interface ModelStore {
  readonly backend: 'opfs' | 'cache';
  list(): Promise<StoredModel[]>;
  /** The stored files of a model as a ModelFiles; null when no complete copy is stored. */
  files(id: string): Promise<ModelFiles | null>;
  /** Copy the model files of `source` (those of MODEL_FILE_NAMES it has, and the shards its index names). */
  save(id: string, source: ModelFiles, opts?: SaveOptions): Promise<StoredModel>;
  forget(id: string): Promise<void>;
}

/** A model id as a storage name: the reader's label (a URL, a folder name) reduced to a plain file name. */
export function modelId(label: string): string {
  const trimmed = label
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/(resolve|tree)\/[^/]+\/?$/, '')
    .replace(/\/+$/, '');
  const id = trimmed
    .replace(/[^A-Za-z0-9_.-]+/g, '_')
    .replace(/^[._-]+/, '')
    .slice(-100);
  return id || 'model';
}

/** Which files of a source make up the model, in the order they should be copied (small ones first). */
export async function modelFileList(source: ModelFiles): Promise<{ name: string; src: ByteSource }[]> {
  const out: { name: string; src: ByteSource }[] = [];
  const add = async (name: string, required: boolean) => {
    const src = await source.open(name);
    if (src) out.push({ name, src });
    else if (required) throw new CheckpointError(`${source.label}/${name}`, 'missing: a model folder needs this file');
  };
  await add('config.json', true);
  await add('tokenizer.json', false);
  await add('tokenizer_config.json', false);
  const index = await source.open('model.safetensors.index.json');
  if (index) {
    out.push({ name: 'model.safetensors.index.json', src: index });
    const json = JSON.parse(new TextDecoder().decode(await index.read(0, index.size))) as { weight_map?: Record<string, unknown> };
    const shards = [...new Set(Object.values(json.weight_map ?? {}))];
    for (const shard of shards) {
      if (typeof shard !== 'string' || !isPlainFileName(shard))
        throw new CheckpointError(index.name, `refused shard file name ${String(shard)}`);
      await add(shard, true);
    }
  } else await add('model.safetensors', true);
  return out;
}

/** Reject early when the files will not fit; ask for persistent storage so the browser does not evict them. */
export async function prepareStorage(storage: StorageManager, needed: number): Promise<{ persisted: boolean }> {
  const { quota = 0, usage = 0 } = await storage.estimate();
  if (quota > 0 && needed > quota - usage) throw new StorageQuotaError(quota, quota - usage, needed);
  const persisted = (await storage.persisted?.()) || ((await storage.persist?.().catch(() => false)) ?? false);
  return { persisted };
}

/** OPFS when the browser has it, else the Cache API, else null (nothing can be kept). */
export async function openModelStore(storage: StorageManager | undefined, caches?: CacheStorage): Promise<ModelStore | null> {
  if (storage?.getDirectory) {
    try {
      const root = await storage.getDirectory();
      return new OpfsStore(storage, await root.getDirectoryHandle(ROOT, { create: true }));
    } catch {
      // OPFS refused (private mode in some browsers): try the Cache API.
    }
  }
  if (caches && storage) return new CacheStore(storage, caches);
  return null;
}

/** Copy `src` chunk by chunk into `write`, reporting progress. */
async function copy(
  src: ByteSource,
  write: (chunk: Uint8Array) => Promise<void>,
  onChunk: (n: number) => void,
  signal?: AbortSignal,
): Promise<void> {
  for (let at = 0; at < src.size;) {
    signal?.throwIfAborted();
    const n = Math.min(CHUNK, src.size - at);
    const chunk = await src.read(at, n);
    if (chunk.length !== n) throw new CheckpointError(src.name, `truncated: read ${at + chunk.length} of ${src.size} bytes`);
    await write(chunk);
    at += n;
    onChunk(n);
  }
}

function quotaError(e: unknown, storage: StorageManager, needed: number): Promise<Error> {
  if ((e as DOMException)?.name !== 'QuotaExceededError') return Promise.resolve(e as Error);
  return storage.estimate().then(
    ({ quota = 0, usage = 0 }) => new StorageQuotaError(quota, quota - usage, needed),
    () => e as Error,
  );
}

function blobSource(name: string, blob: Blob): ByteSource {
  return {
    name,
    size: blob.size,
    async read(offset, length) {
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
  };
}

function parseManifest(text: string, id: string): StoredModel | null {
  try {
    const m = JSON.parse(text) as StoredModel;
    const folderOk = m?.folder === undefined || (typeof m.folder === 'string' && isPlainFileName(m.folder));
    return m && m.id === id && Array.isArray(m.files) && folderOk ? m : null;
  } catch {
    return null;
  }
}

/** A fresh copy folder name: a save never writes into the folder of the copy in use. */
function newCopyFolder(): string {
  return `copy-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

function manifestFor(id: string, files: { name: string; src: ByteSource }[], folder: string, backend: StoredModel['backend']): StoredModel {
  const list = files.map((f) => ({ name: f.name, size: f.src.size }));
  return { id, files: list, bytes: list.reduce((a, f) => a + f.size, 0), savedAt: new Date().toISOString(), backend, folder };
}

class OpfsStore implements ModelStore {
  readonly backend = 'opfs' as const;
  private readonly storage: StorageManager;
  private readonly root: FileSystemDirectoryHandle;
  constructor(storage: StorageManager, root: FileSystemDirectoryHandle) {
    this.storage = storage;
    this.root = root;
  }

  async list(): Promise<StoredModel[]> {
    const out: StoredModel[] = [];
    for await (const [name, handle] of this.root as unknown as AsyncIterable<[string, FileSystemHandle]>) {
      if (handle.kind !== 'directory') continue;
      const m = await this.manifest(name);
      if (m) out.push(m);
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  private async manifest(id: string): Promise<StoredModel | null> {
    return (await this.copy(id))?.manifest ?? null;
  }

  /** The complete copy stored under `id`: its manifest and the folder holding every file it lists, at its size. */
  private async copy(id: string): Promise<{ manifest: StoredModel; dir: FileSystemDirectoryHandle } | null> {
    try {
      const modelDir = await this.root.getDirectoryHandle(id);
      const manifest = parseManifest(await (await (await modelDir.getFileHandle(MANIFEST)).getFile()).text(), id);
      if (!manifest) return null;
      const dir = manifest.folder === undefined ? modelDir : await modelDir.getDirectoryHandle(manifest.folder);
      for (const f of manifest.files) {
        if (!isPlainFileName(f.name) || (await (await dir.getFileHandle(f.name)).getFile()).size !== f.size) return null;
      }
      return { manifest, dir };
    } catch {
      return null; // a file or folder is missing (evicted, deleted): not a stored model
    }
  }

  async files(id: string): Promise<ModelFiles | null> {
    const copy = isPlainFileName(id) ? await this.copy(id) : null;
    if (!copy) return null;
    const { dir } = copy;
    return {
      label: `stored model “${id}”`,
      async open(name) {
        if (!isPlainFileName(name)) return null;
        try {
          return blobSource(`${id}/${name}`, await (await dir.getFileHandle(name)).getFile());
        } catch {
          return null;
        }
      },
    };
  }

  async save(id: string, source: ModelFiles, opts: SaveOptions = {}): Promise<StoredModel> {
    if (!isPlainFileName(id)) throw new ModelStoreError(`"${id}" is not a usable model id (use modelId())`);
    const files = await modelFileList(source);
    const total = files.reduce((a, f) => a + f.src.size, 0);
    // The new copy is written beside the stored one, which stays until the new one is complete: room for both.
    await prepareStorage(this.storage, total);
    const modelDir = await this.root.getDirectoryHandle(id, { create: true });
    const folder = newCopyFolder();
    const dir = await modelDir.getDirectoryHandle(folder, { create: true });
    let saved = 0;
    let manifest: StoredModel;
    try {
      for (const { name, src } of files) {
        const writable = await (await dir.getFileHandle(name, { create: true })).createWritable();
        try {
          await copy(
            src,
            (c) => writable.write(c as Uint8Array<ArrayBuffer>),
            (n) => opts.onProgress?.((saved += n), total, name),
            opts.signal,
          );
          await writable.close();
        } catch (e) {
          await writable.abort().catch(() => {});
          throw e;
        }
      }
      // The swap: a writable replaces the manifest only when closed, so a reader sees the old copy or the new one.
      manifest = manifestFor(id, files, folder, 'opfs');
      const w = await (await modelDir.getFileHandle(MANIFEST, { create: true })).createWritable();
      await w.write(JSON.stringify(manifest));
      await w.close();
    } catch (e) {
      await modelDir.removeEntry(folder, { recursive: true }).catch(() => {});
      throw await quotaError(e, this.storage, total);
    }
    // The old copy (and any left by a save the browser killed) is now unused.
    for await (const [name] of modelDir as unknown as AsyncIterable<[string, FileSystemHandle]>) {
      if (name !== MANIFEST && name !== folder) await modelDir.removeEntry(name, { recursive: true }).catch(() => {});
    }
    return manifest;
  }

  async forget(id: string): Promise<void> {
    if (!isPlainFileName(id)) return;
    await this.root.removeEntry(id, { recursive: true }).catch((e: DOMException) => {
      if (e?.name !== 'NotFoundError') throw e;
    });
  }
}

class CacheStore implements ModelStore {
  readonly backend = 'cache' as const;
  private readonly storage: StorageManager;
  private readonly caches: CacheStorage;
  constructor(storage: StorageManager, caches: CacheStorage) {
    this.storage = storage;
    this.caches = caches;
  }

  // Each model is its own cache; requests are keyed by a fixed path (never fetched: the cache is only a store).
  private name = (id: string) => `${ROOT}-${id}`;
  /** A file's key: under its copy folder, or beside the manifest in copies saved before there were folders. */
  private key = (name: string, folder?: string) => (folder === undefined ? `/${ROOT}/${name}` : `/${ROOT}/${folder}/${name}`);

  async list(): Promise<StoredModel[]> {
    const out: StoredModel[] = [];
    for (const cacheName of await this.caches.keys()) {
      if (!cacheName.startsWith(`${ROOT}-`)) continue;
      const copy = await this.copy(cacheName.slice(ROOT.length + 1));
      if (copy) out.push(copy.manifest);
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The complete copy stored under `id`: its manifest, with every file it lists in the cache at its size. */
  private async copy(id: string): Promise<{ manifest: StoredModel; cache: Cache } | null> {
    if (!isPlainFileName(id) || !(await this.caches.has(this.name(id)))) return null;
    const cache = await this.caches.open(this.name(id));
    const hit = await cache.match(this.key(MANIFEST));
    const manifest = hit ? parseManifest(await hit.text(), id) : null;
    if (!manifest) return null;
    for (const f of manifest.files) {
      const file = isPlainFileName(f.name) ? await cache.match(this.key(f.name, manifest.folder)) : undefined;
      // Content-Length, set when the file was put: a put whose body broke off is not stored at all.
      if (!file || Number(file.headers.get('content-length')) !== f.size) return null;
    }
    return { manifest, cache };
  }

  async files(id: string): Promise<ModelFiles | null> {
    const copy = await this.copy(id);
    if (!copy) return null;
    const { manifest, cache } = copy;
    return {
      label: `stored model “${id}”`,
      open: async (name) => {
        const hit = isPlainFileName(name) ? await cache.match(this.key(name, manifest.folder)) : undefined;
        return hit ? blobSource(`${id}/${name}`, await hit.blob()) : null;
      },
    };
  }

  async save(id: string, source: ModelFiles, opts: SaveOptions = {}): Promise<StoredModel> {
    if (!isPlainFileName(id)) throw new ModelStoreError(`"${id}" is not a usable model id (use modelId())`);
    const files = await modelFileList(source);
    const total = files.reduce((a, f) => a + f.src.size, 0);
    // The new copy is written beside the stored one, which stays until the new one is complete: room for both.
    await prepareStorage(this.storage, total);
    const cache = await this.caches.open(this.name(id));
    const folder = newCopyFolder();
    let saved = 0;
    let manifest: StoredModel;
    try {
      for (const { name, src } of files) {
        let at = 0;
        // A pull stream: the cache takes the file chunk by chunk, so it is never whole in memory.
        const body = new ReadableStream<Uint8Array>({
          async pull(controller) {
            opts.signal?.throwIfAborted();
            if (at >= src.size) return controller.close();
            const n = Math.min(CHUNK, src.size - at);
            const chunk = await src.read(at, n);
            if (chunk.length !== n) throw new CheckpointError(src.name, `truncated: read ${at + chunk.length} of ${src.size} bytes`);
            at += n;
            opts.onProgress?.((saved += n), total, name);
            controller.enqueue(chunk);
          },
        });
        await cache.put(this.key(name, folder), new Response(body, { headers: { 'Content-Length': String(src.size) } }));
      }
      // The swap: one put replaces the manifest, so a reader sees the old copy or the new one.
      manifest = manifestFor(id, files, folder, 'cache');
      await cache.put(this.key(MANIFEST), new Response(JSON.stringify(manifest)));
    } catch (e) {
      await this.dropAllBut(cache, (key) => !key.startsWith(this.key('', folder))).catch(() => {});
      throw await quotaError(e, this.storage, total);
    }
    // The old copy (and any left by a save the browser killed) is now unused.
    await this.dropAllBut(cache, (key) => key === this.key(MANIFEST) || key.startsWith(this.key('', folder)));
    return manifest;
  }

  /** Delete every entry of `cache` whose key path `keep` refuses. */
  private async dropAllBut(cache: Cache, keep: (keyPath: string) => boolean): Promise<void> {
    for (const request of await cache.keys()) {
      if (!keep(new URL(request.url).pathname)) await cache.delete(request);
    }
  }

  async forget(id: string): Promise<void> {
    await this.caches.delete(this.name(id));
  }
}
