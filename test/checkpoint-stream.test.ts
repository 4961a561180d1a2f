// The streaming loader (engine/checkpoint/stream.ts) on real files and a real HTTP server: a golden model rewritten
// by this test as bf16 (one file, and three shards with an index), read from disk, from a server that honours Range
// requests and from one that does not. Each tensor must arrive exactly once with the bytes this test wrote, progress
// must only grow and end at the total, and broken inputs must give the typed errors.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, statSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, readCheckpointLayout, CheckpointError, type ModelFiles, type Weight } from '../engine/checkpoint/load.ts';
import { folderFiles } from '../engine/checkpoint/folder.node.ts';
import { floatToBf16, writeSafetensors } from '../engine/checkpoint/safetensors.ts';
import { httpFiles, ModelFetchError, streamCheckpoint, type StreamProgress } from '../engine/checkpoint/stream.ts';
import { goldenDir } from './paths.ts';

const GOLDEN = 'pub_a_m8_d64';
let tmp: string;
/** The bf16 bytes this test wrote for each tensor: what every source must deliver. */
const written = new Map<string, { shape: number[]; bytes: Uint8Array }>();

/** A folder in tmp: config.json + the tensors as one bf16 file or as `shards` bf16 shards with an index. */
function writeModel(dir: string, shards: number): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), readFileSync(path.join(goldenDir(GOLDEN), 'config.json')));
  const names = [...written.keys()];
  const groups = Array.from({ length: shards }, (_, s) => names.filter((_, i) => i % shards === s));
  const weightMap: Record<string, string> = {};
  groups.forEach((group, s) => {
    const file = shards === 1 ? 'model.safetensors' : `model-0000${s + 1}-of-0000${shards}.safetensors`;
    const tensors = group.map((name) => {
      const { shape, bytes } = written.get(name)!;
      return { name, dtype: 'BF16' as const, shape, data: new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2) };
    });
    writeFileSync(path.join(dir, file), writeSafetensors(tensors));
    for (const name of group) weightMap[name] = file;
  });
  if (shards > 1) writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
}

interface TestServer {
  url: string;
  requests: { path: string; range: string | null; status: number }[];
  close(): Promise<void>;
}

/** Serve `dir`: with or without Range support, optionally cutting every body short or failing with a status. */
async function startServer(dir: string, opts: { range: boolean; cutBytes?: number; failWith?: number }): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    const file = path.join(dir, decodeURIComponent(new URL(req.url!, 'http://x').pathname));
    const range = req.headers.range ?? null;
    const reply = (status: number, headers: Record<string, string | number>, body?: Uint8Array) => {
      requests.push({ path: path.basename(file), range, status });
      res.writeHead(status, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    let data: Uint8Array;
    try {
      data = readFileSync(file);
    } catch {
      return reply(404, {});
    }
    if (opts.failWith && file.endsWith('.safetensors') && req.method === 'GET') return reply(opts.failWith, {}, new Uint8Array(0));
    const size = data.length;
    const cut = file.endsWith('.safetensors') ? (opts.cutBytes ?? 0) : 0;
    const m = opts.range && range ? /^bytes=(\d+)-(\d+)$/.exec(range) : null;
    if (m) {
      const [a, b] = [Number(m[1]), Math.min(Number(m[2]), size - 1)];
      const body = data.subarray(a, b + 1 - cut);
      // The declared length is honest about what is sent; the body is what the client must check against its request.
      return reply(206, { 'Content-Range': `bytes ${a}-${b}/${size}`, 'Content-Length': body.length }, body);
    }
    if (req.method === 'HEAD') return reply(200, { 'Content-Length': size });
    // No Range support: the whole file. Cut short when asked: sent chunked (no length), ending early, as a proxy
    // that drops the tail of a download would.
    return reply(200, cut ? {} : { 'Content-Length': size }, data.subarray(0, size - cut));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'hymba-stream-'));
  const golden = await loadCheckpoint(folderFiles(goldenDir(GOLDEN)));
  for (const [name, w] of golden.weights) {
    const f32 = new Float32Array(w.bytes.buffer.slice(w.bytes.byteOffset, w.bytes.byteOffset + w.bytes.length));
    expect(w.dtype).toBe('F32');
    const bits = Uint16Array.from(f32, floatToBf16);
    written.set(name, { shape: w.shape, bytes: new Uint8Array(bits.buffer) });
  }
  writeModel(path.join(tmp, 'single'), 1);
  writeModel(path.join(tmp, 'sharded'), 3);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Stream `files` and check: every tensor once, its bytes as written, progress monotone and complete. */
async function streamAndCheck(files: ModelFiles, chunkBytes: number): Promise<StreamProgress[]> {
  const seen = new Map<string, Weight>();
  const progress: StreamProgress[] = [];
  const layout = await streamCheckpoint(
    files,
    (w) => {
      expect(seen.has(w.name), `${w.name} delivered twice`).toBe(false);
      seen.set(w.name, w);
    },
    { chunkBytes, onProgress: (p) => progress.push(p) },
  );
  expect([...seen.keys()].sort()).toEqual([...written.keys()].sort());
  for (const [name, w] of seen) {
    expect(w.dtype).toBe('BF16');
    expect(w.shape).toEqual(written.get(name)!.shape);
    expect(Buffer.from(w.bytes).equals(Buffer.from(written.get(name)!.bytes)), `${name} bytes`).toBe(true);
  }
  const total = [...written.values()].reduce((a, w) => a + w.bytes.length, 0);
  expect(layout.totalBytes).toBe(total);
  for (let i = 1; i < progress.length; i++) expect(progress[i].loaded).toBeGreaterThan(progress[i - 1].loaded);
  expect(progress.at(-1)!.loaded).toBe(total);
  // Each file's own progress reaches its share; the shares add up to the total.
  const lastPerFile = new Map(progress.map((p) => [p.file, p]));
  for (const p of lastPerFile.values()) expect(p.fileLoaded).toBe(p.fileTotal);
  expect([...lastPerFile.values()].reduce((a, p) => a + p.fileTotal, 0)).toBe(total);
  return progress;
}

describe('streamCheckpoint from disk', () => {
  it('single bf16 file: every tensor once with its bytes, progress in chunks up to the total', async () => {
    const progress = await streamAndCheck(folderFiles(path.join(tmp, 'single')), 4096);
    // The embedding (256 × 64 bf16 = 32 kB) is read in 8 chunks of 4 kB: progress moves inside a tensor.
    expect(progress.length).toBeGreaterThan(written.size);
    expect(new Set(progress.map((p) => p.file)).size).toBe(1);
  });

  it('three shards with an index: per-file progress for each shard', async () => {
    const progress = await streamAndCheck(folderFiles(path.join(tmp, 'sharded')), 1 << 20);
    expect(new Set(progress.map((p) => path.basename(p.file)))).toEqual(
      new Set(['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors']),
    );
  });

  it('the layout is validated before any tensor is delivered (a missing tensor: nothing reaches the destination)', async () => {
    const dir = path.join(tmp, 'missing');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'config.json'), readFileSync(path.join(goldenDir(GOLDEN), 'config.json')));
    const [first, ...rest] = [...written.keys()];
    const tensors = rest.map((name) => {
      const { shape, bytes } = written.get(name)!;
      return { name, dtype: 'BF16' as const, shape, data: new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2) };
    });
    writeFileSync(path.join(dir, 'model.safetensors'), writeSafetensors(tensors));
    let delivered = 0;
    await expect(streamCheckpoint(folderFiles(dir), () => void delivered++)).rejects.toThrow(
      new RegExp(`"${first.replace(/\./g, '\\.')}".*missing tensor`),
    );
    expect(delivered).toBe(0);
  });

  it('a truncated file is a CheckpointError before any tensor is read', async () => {
    const dir = path.join(tmp, 'truncated');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'config.json'), readFileSync(path.join(goldenDir(GOLDEN), 'config.json')));
    const full = readFileSync(path.join(tmp, 'single', 'model.safetensors'));
    writeFileSync(path.join(dir, 'model.safetensors'), full.subarray(0, full.length - 100));
    let delivered = 0;
    const err = await streamCheckpoint(folderFiles(dir), () => void delivered++).catch((e) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect(err.message).toMatch(/outside the .*data section \(file truncated\?\)|trailing bytes|truncated/);
    expect(delivered).toBe(0);
  });

  it('an aborted stream stops with the signal reason', async () => {
    const controller = new AbortController();
    let delivered = 0;
    const p = streamCheckpoint(
      folderFiles(path.join(tmp, 'single')),
      () => {
        if (++delivered === 3) controller.abort(new Error('reader pressed Cancel'));
      },
      { signal: controller.signal },
    );
    await expect(p).rejects.toThrow('reader pressed Cancel');
    expect(delivered).toBe(3);
  });
});

describe('streamCheckpoint over HTTP', () => {
  it('a server with Range support: only 206 partial reads, per tensor chunk; same bytes as on disk', async () => {
    const server = await startServer(path.join(tmp, 'sharded'), { range: true });
    try {
      await streamAndCheck(httpFiles(server.url), 8192);
      const gets = server.requests.filter((r) => r.path.endsWith('.safetensors') && r.status !== 200);
      expect(gets.length).toBeGreaterThan(3);
      expect(gets.every((r) => r.status === 206 && r.range !== null)).toBe(true);
      // Nothing was downloaded whole: the only 200s are HEADs (which carry no Range header).
      expect(server.requests.filter((r) => r.status === 200 && r.range !== null)).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('a server without Range support: one streamed download per file, read front to back', async () => {
    const server = await startServer(path.join(tmp, 'single'), { range: false });
    try {
      const seenOrigins: string[] = [];
      await streamAndCheck(httpFiles(server.url, { onRequest: (url) => seenOrigins.push(url) }), 4096);
      // HEAD + one GET (answered 200 with the whole body) for the checkpoint: no restart.
      const gets = server.requests.filter((r) => r.path === 'model.safetensors' && r.range !== null);
      expect(gets).toHaveLength(1);
      expect(gets[0].status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('loadCheckpoint over HTTP equals loadCheckpoint from disk (the layout API serves both)', async () => {
    const server = await startServer(path.join(tmp, 'sharded'), { range: true });
    try {
      const a = await loadCheckpoint(httpFiles(server.url));
      const b = await loadCheckpoint(folderFiles(path.join(tmp, 'sharded')));
      expect([...a.weights.keys()]).toEqual([...b.weights.keys()]);
      for (const [name, w] of a.weights) expect(Buffer.from(w.bytes).equals(Buffer.from(b.weights.get(name)!.bytes))).toBe(true);
      const layout = await readCheckpointLayout(httpFiles(server.url));
      expect(layout.files).toHaveLength(3);
      expect(layout.files.reduce((s, f) => s + f.tensorBytes, 0)).toBe(layout.totalBytes);
    } finally {
      await server.close();
    }
  });

  it('a download cut short is a ModelFetchError of kind "truncated" (Range and no-Range servers)', async () => {
    for (const range of [true, false]) {
      const server = await startServer(path.join(tmp, 'single'), { range, cutBytes: 10 });
      try {
        const err = await streamCheckpoint(httpFiles(server.url), () => {}).catch((e) => e);
        expect(err, `range=${range}`).toBeInstanceOf(ModelFetchError);
        expect(err.kind).toBe('truncated');
        expect(err.message).toMatch(/truncated: the download ended after \d+ of \d+ bytes/);
      } finally {
        await server.close();
      }
    }
  });

  it('a server error is a ModelFetchError with its status', async () => {
    const server = await startServer(path.join(tmp, 'single'), { range: true, failWith: 503 });
    try {
      const err = await streamCheckpoint(httpFiles(server.url), () => {}).catch((e) => e);
      expect(err).toBeInstanceOf(ModelFetchError);
      expect([err.kind, err.status]).toEqual(['http', 503]);
      expect(err.message).toContain('HTTP 503');
    } finally {
      await server.close();
    }
  });

  it('a missing folder: config.json 404 is a CheckpointError naming it', async () => {
    const server = await startServer(path.join(tmp, 'nowhere'), { range: true });
    try {
      await expect(readCheckpointLayout(httpFiles(server.url))).rejects.toThrow(/config\.json: missing/);
    } finally {
      await server.close();
    }
  });

  it('fetch failing on a cross-origin URL explains CORS; on the same origin it is a network error', async () => {
    // A port nothing listens on: fetch throws a TypeError, as a browser does when CORS refuses a response.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const url = `http://127.0.0.1:${port}/hymba/`;
    const cross = await readCheckpointLayout(httpFiles(url, { pageOrigin: 'https://hymba-lab.example' })).catch((e) => e);
    expect(cross).toBeInstanceOf(ModelFetchError);
    expect(cross.kind).toBe('cors');
    expect(cross.message).toContain('the server does not allow cross-origin requests (CORS)');
    const same = await readCheckpointLayout(httpFiles(url, { pageOrigin: `http://127.0.0.1:${port}` })).catch((e) => e);
    expect([same.kind, same.message.includes('CORS')]).toEqual(['network', false]);
  });
});

it('the shards written above really are bf16 and split three ways (the test material is what it claims)', () => {
  const dir = path.join(tmp, 'sharded');
  const index = JSON.parse(readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8'));
  expect(new Set(Object.values(index.weight_map)).size).toBe(3);
  const singleSize = statSync(path.join(tmp, 'single', 'model.safetensors')).size;
  const golden = statSync(path.join(goldenDir(GOLDEN), 'model.safetensors')).size;
  expect(singleSize).toBeLessThan(golden * 0.6); // 2 bytes per value instead of 4, plus headers
});
