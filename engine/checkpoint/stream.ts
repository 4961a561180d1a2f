// Loading a checkpoint tensor by tensor, for models too large to hold twice (Hymba-1.5B: 3.05 GB in bf16).
//
// loadCheckpoint (load.ts) returns every tensor at once, which is right for the lesson models. Here the headers are
// read and validated first (readCheckpointLayout: the same checks), then each tensor's bytes are read into a buffer
// of exactly its size and handed to the caller, who uploads them (to the GPU, to storage) and drops them. The loader
// keeps no reference, so at most one tensor (the largest is the 102 MB embedding) is in flight at a time.
//
// Where the bytes come from is a ModelFiles, as everywhere: a folder on disk (folder.node.ts), files the reader
// picked (fileListFiles: File.slice reads), browser storage (browser-store.ts), or HTTP (httpFiles below: Range
// requests when the server honours them, else one streamed download read front to back).

import {
  CheckpointError,
  checkFinite,
  isPlainFileName,
  readCheckpointLayout,
  type ByteSource,
  type CheckpointLayout,
  type ModelFiles,
  type Weight,
} from './load.ts';

/** Reads are split into pieces of this size, so progress moves smoothly through the 100 MB embedding. */
export const DEFAULT_CHUNK_BYTES = 16 * 1024 * 1024;

export interface StreamProgress {
  /** Tensor bytes read so far, over all files, and their total. */
  loaded: number;
  total: number;
  /** The file being read, and its own progress (tensor bytes). */
  file: string;
  fileLoaded: number;
  fileTotal: number;
}

export interface StreamOptions {
  onProgress?: (p: StreamProgress) => void;
  chunkBytes?: number;
  /** Stops the stream between chunks with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Every tensor of a validated layout, one at a time: file by file (in index order), in file offset order within a
 * file, so a source that can only read forward (a download without Range support) never has to go back.
 */
export async function* readTensors(layout: CheckpointLayout, opts: StreamOptions = {}): AsyncGenerator<Weight> {
  const chunk = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`chunkBytes must be a positive integer, got ${chunk}`);
  let loaded = 0;
  for (const { src, tensorBytes } of layout.files) {
    const inFile = layout.tensors.filter((t) => t.src === src).sort((a, b) => a.entry.begin - b.entry.begin);
    let fileLoaded = 0;
    for (const { name, entry } of inFile) {
      const size = entry.end - entry.begin;
      const bytes = new Uint8Array(size);
      for (let at = 0; at < size;) {
        opts.signal?.throwIfAborted();
        const n = Math.min(chunk, size - at);
        const piece = await src.read(entry.begin + at, n);
        if (piece.length !== n) {
          throw new CheckpointError(
            src.name,
            `truncated: read ${entry.begin + at + piece.length} of the ${src.size} bytes the file should have`,
            name,
          );
        }
        bytes.set(piece, at);
        at += n;
        loaded += n;
        fileLoaded += n;
        opts.onProgress?.({ loaded, total: layout.totalBytes, file: src.name, fileLoaded, fileTotal: tensorBytes });
      }
      const weight: Weight = { name, dtype: entry.dtype as Weight['dtype'], shape: entry.shape, bytes };
      checkFinite(src.name, weight); // NaN or ±Inf: refused before the caller uploads it
      yield weight;
    }
  }
}

/**
 * Validate the whole checkpoint, then pass each tensor to `onTensor` (awaited before the next is read). Returns the
 * layout (config, sizes). Every problem is a ConfigError or CheckpointError (ModelFetchError for HTTP) naming it.
 */
export async function streamCheckpoint(
  files: ModelFiles,
  onTensor: (w: Weight) => void | Promise<void>,
  opts: StreamOptions = {},
): Promise<CheckpointLayout> {
  const layout = await readCheckpointLayout(files);
  for await (const w of readTensors(layout, opts)) await onTensor(w);
  return layout;
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP

export type FetchFailure = 'cors' | 'network' | 'http' | 'truncated' | 'size';

/** An HTTP failure, with what kind it is, so a page can explain it (CORS, network, a status, a cut download). */
export class ModelFetchError extends CheckpointError {
  readonly kind: FetchFailure;
  readonly status: number | undefined;
  constructor(url: string, kind: FetchFailure, message: string, status?: number) {
    super(url, message);
    this.name = 'ModelFetchError';
    this.kind = kind;
    this.status = status;
  }
}

export interface HttpFilesOptions {
  fetch?: typeof fetch;
  /**
   * The page's origin, to tell a CORS refusal from a network failure (both reach us as a TypeError from fetch).
   * Default: location.origin where there is one.
   */
  pageOrigin?: string | null;
  /** Called with the URL, the Range asked for (null: whole file) and the status, for each request (tests, logs). */
  onRequest?: (url: string, range: string | null, status: number) => void;
}

/**
 * A model folder at a URL the reader typed. Files are opened with a HEAD request (404 → not there, its size from
 * Content-Length); reads are Range requests while the server answers 206, and a server that answers 200 (no Range
 * support) is read as one streamed download, front to back.
 */
export function httpFiles(baseUrl: string, opts: HttpFilesOptions = {}): ModelFiles {
  const base = baseUrl.endsWith('/') ? baseUrl : baseUrl + '/';
  const fetchImpl = opts.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
  const pageOrigin = opts.pageOrigin !== undefined ? opts.pageOrigin : ((globalThis as { location?: Location }).location?.origin ?? null);
  const request = async (url: string, init: RequestInit, range: string | null): Promise<Response> => {
    let res: Response;
    try {
      res = await fetchImpl(url, init);
    } catch (e) {
      throw networkError(url, e, pageOrigin);
    }
    opts.onRequest?.(url, range, res.status);
    return res;
  };
  return {
    label: base,
    async open(name) {
      if (!isPlainFileName(name)) throw new CheckpointError(`${base}${name}`, 'refused: not a plain file name in the model folder');
      const url = new URL(name, base).href;
      const head = await request(url, { method: 'HEAD' }, null);
      if (head.status === 404) return null;
      if (!head.ok)
        throw new ModelFetchError(url, 'http', `the server answered HTTP ${head.status} ${head.statusText}`.trim(), head.status);
      const size = Number(head.headers.get('content-length'));
      if (!head.headers.has('content-length') || !Number.isSafeInteger(size) || size < 0) {
        throw new ModelFetchError(
          url,
          'size',
          'the server did not say how large the file is (no Content-Length), so it cannot be checked before loading',
        );
      }
      return httpSource(url, size, request);
    },
  };
}

function networkError(url: string, e: unknown, pageOrigin: string | null): ModelFetchError {
  const crossOrigin = pageOrigin !== null && new URL(url).origin !== pageOrigin;
  const why = (e as Error)?.message ?? String(e);
  if (crossOrigin && e instanceof TypeError) {
    return new ModelFetchError(
      url,
      'cors',
      `could not be fetched: the server does not allow cross-origin requests (CORS) from this page, or it cannot be reached (${why}). ` +
        'Download the files and pick them from disk instead, or serve them with Access-Control-Allow-Origin.',
    );
  }
  return new ModelFetchError(url, 'network', `could not be fetched: the network request failed (${why})`);
}

type Requester = (url: string, init: RequestInit, range: string | null) => Promise<Response>;

/** A file over HTTP: Range reads, or a forward-only read of one streamed download when the server ignores Range. */
function httpSource(url: string, size: number, request: Requester): ByteSource {
  let mode: 'unknown' | 'range' | 'stream' = 'unknown';
  let stream: ForwardReader | null = null;

  const startStream = async (first?: Response): Promise<ForwardReader> => {
    stream?.cancel();
    const res = first ?? (await request(url, {}, null));
    if (res.status !== 200)
      throw new ModelFetchError(url, 'http', `the server answered HTTP ${res.status} ${res.statusText}`.trim(), res.status);
    if (!res.body) throw new ModelFetchError(url, 'http', 'the response has no body');
    return (stream = new ForwardReader(url, res.body.getReader()));
  };

  return {
    name: url,
    size,
    async read(offset, length) {
      const n = Math.max(0, Math.min(length, size - offset));
      if (n === 0) return new Uint8Array(0);
      if (mode !== 'stream') {
        const range = `bytes=${offset}-${offset + n - 1}`;
        const res = await request(url, { headers: { Range: range } }, range);
        if (res.status === 206) {
          mode = 'range';
          const bytes = await readBody(url, res, n);
          if (bytes.length !== n) throw truncated(url, offset + bytes.length, size);
          return bytes;
        }
        if (res.status !== 200 || mode === 'range') {
          throw new ModelFetchError(
            url,
            'http',
            `the server answered HTTP ${res.status} ${res.statusText} to a Range request`.trim(),
            res.status,
          );
        }
        mode = 'stream'; // the server ignores Range: this 200 is the whole file
        await startStream(res);
      } else if (!stream || offset < stream.position) {
        await startStream(); // reading backwards (rare: the loader reads front to back) restarts the download
      }
      const s = stream!;
      await s.skip(offset - s.position);
      const bytes = await s.take(n);
      if (bytes.length !== n) throw truncated(url, s.position, size);
      return bytes;
    },
  };
}

function truncated(url: string, got: number, size: number): ModelFetchError {
  return new ModelFetchError(url, 'truncated', `truncated: the download ended after ${got} of ${size} bytes`);
}

async function readBody(url: string, res: Response, expected: number): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = new ForwardReader(url, res.body.getReader());
  const bytes = await reader.take(expected);
  reader.cancel();
  return bytes;
}

/** A response body read front to back in exact-size pieces. */
class ForwardReader {
  position = 0;
  private readonly url: string;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private pending: Uint8Array = new Uint8Array(0);
  private done = false;

  constructor(url: string, reader: ReadableStreamDefaultReader<Uint8Array>) {
    this.url = url;
    this.reader = reader;
  }

  /** The next `n` bytes (fewer only at the end of the body). */
  async take(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      if (this.pending.length === 0 && !(await this.pull())) break;
      const k = Math.min(n - at, this.pending.length);
      out.set(this.pending.subarray(0, k), at);
      this.pending = this.pending.subarray(k);
      at += k;
    }
    this.position += at;
    return at === n ? out : out.subarray(0, at);
  }

  async skip(n: number): Promise<void> {
    while (n > 0) {
      if (this.pending.length === 0 && !(await this.pull())) return;
      const k = Math.min(n, this.pending.length);
      this.pending = this.pending.subarray(k);
      this.position += k;
      n -= k;
    }
  }

  cancel(): void {
    if (!this.done) void this.reader.cancel().catch(() => {});
    this.done = true;
  }

  private async pull(): Promise<boolean> {
    if (this.done) return false;
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      r = await this.reader.read();
    } catch (e) {
      this.done = true;
      throw new ModelFetchError(this.url, 'network', `the download broke off after ${this.position} bytes (${(e as Error).message})`);
    }
    if (r.done) {
      this.done = true;
      return false;
    }
    this.pending = r.value;
    return true;
  }
}
