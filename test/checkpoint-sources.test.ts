// The byte sources behind loadCheckpoint, each against the real thing: urlFiles over a real node:http server on
// a local port, fileListFiles with Node's File class, folderFiles on disk.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { folderFiles } from '../engine/checkpoint/folder.node.ts';
import { CheckpointError, fileListFiles, loadCheckpoint, urlFiles, type Checkpoint } from '../engine/checkpoint/load.ts';
import { plainF32Tensors, readGolden, shardedFolder } from './fixtures/checkpoints.ts';
import { goldenDir } from './paths.ts';

const NAME = 'pub_b_m0_d32';
const golden = readGolden(NAME);
const reference = plainF32Tensors(golden.modelBytes);
const sharded: Record<string, Uint8Array | string> = { 'config.json': golden.configText, ...shardedFolder(reference, 3) };

/** A File of these bytes (copied: File wants an ArrayBuffer-backed view). */
const file = (body: Uint8Array | string, name: string): File => new File([typeof body === 'string' ? body : new Uint8Array(body)], name);

/** The checkpoint holds exactly the golden tensors, bit for bit. */
function expectGolden(ckpt: Checkpoint): void {
  expect(ckpt.weights.size).toBe(reference.length);
  for (const t of reference) {
    const w = ckpt.weights.get(t.name)!;
    expect(w.dtype).toBe('F32');
    expect(w.bytes).toEqual(new Uint8Array(t.data.buffer));
  }
}

describe('urlFiles against a real HTTP server', () => {
  let server: Server;
  let origin: string;
  const requests: string[] = [];

  beforeAll(async () => {
    // /golden/<file>: the golden folder on disk. /sharded/<file>: a sharded copy in memory. /broken/<file>: HTTP 500.
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      requests.push(url.pathname);
      const [, folder, file] = url.pathname.split('/');
      if (folder === 'broken') {
        res.writeHead(500, 'Internal Server Error').end('boom');
        return;
      }
      let body: Uint8Array | string | undefined;
      if (folder === 'golden') {
        try {
          body = readFileSync(path.join(goldenDir(NAME), path.basename(file)));
        } catch {
          body = undefined;
        }
      } else if (folder === 'sharded' && Object.hasOwn(sharded, file)) body = sharded[file];
      if (body === undefined) res.writeHead(404, 'Not Found').end();
      else res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('loads a golden folder, fetching each file once (index absent → 404 → single file)', async () => {
    requests.length = 0;
    const ckpt = await loadCheckpoint(urlFiles(`${origin}/golden`));
    expectGolden(ckpt);
    expect(requests.sort()).toEqual(['/golden/config.json', '/golden/model.safetensors', '/golden/model.safetensors.index.json']);
  });

  it('gives null for a file the server does not have (404)', async () => {
    expect(await urlFiles(`${origin}/golden/`).open('README.md')).toBeNull();
  });

  it('loads a sharded folder through its index', async () => {
    expectGolden(await loadCheckpoint(urlFiles(`${origin}/sharded/`)));
  });

  it('turns an HTTP 500 into a CheckpointError naming the URL and the status', async () => {
    const error = await loadCheckpoint(urlFiles(`${origin}/broken/`)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as CheckpointError).message).toBe(`${origin}/broken/config.json: HTTP 500 Internal Server Error`);
    expect((error as CheckpointError).file).toBe(`${origin}/broken/config.json`);
  });

  it('turns a refused connection into a CheckpointError naming the URL', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await loadCheckpoint(urlFiles(`http://127.0.0.1:${port}/m/`)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/m/config\\.json: could not be fetched`));
  });

  it('refuses names that would resolve outside the base URL, without fetching', async () => {
    requests.length = 0;
    for (const name of ['../golden/config.json', '%2e%2e/x', `${origin}/golden/config.json`, 'https:evil.example/x']) {
      await expect(urlFiles(`${origin}/sharded/`).open(name)).rejects.toThrow(/refused: not a plain file name in the model folder/);
    }
    expect(requests).toEqual([]);
  });
});

describe('fileListFiles with real File objects', () => {
  it('loads a golden folder picked as files', async () => {
    const files = ['config.json', 'model.safetensors', 'README.json'].map((f) => file(readFileSync(path.join(goldenDir(NAME), f)), f));
    const ckpt = await loadCheckpoint(fileListFiles(files, 'picked'));
    expectGolden(ckpt);
    expect(ckpt.label).toBe('picked');
  });

  it('loads shards picked as files', async () => {
    const files = Object.entries(sharded).map(([name, body]) => file(body, name));
    expectGolden(await loadCheckpoint(fileListFiles(files)));
  });

  it('reports a missing config.json among the picked files', async () => {
    const files = [file(golden.modelBytes, 'model.safetensors')];
    await expect(loadCheckpoint(fileListFiles(files, 'picked'))).rejects.toThrow(
      'picked/config.json: missing: a model folder needs config.json',
    );
  });

  it('reports a truncated picked file', async () => {
    const files = [file(golden.configText, 'config.json'), file(golden.modelBytes.subarray(0, 1000), 'model.safetensors')];
    await expect(loadCheckpoint(fileListFiles(files))).rejects.toThrow(
      /model\.safetensors: truncated: header of \d+ bytes does not fit in a 1000-byte file/,
    );
  });
});

describe('folderFiles', () => {
  it('gives null for absent files and directories', async () => {
    const files = folderFiles(path.dirname(goldenDir(NAME)));
    expect(await files.open('no-such-file.json')).toBeNull();
    expect(await files.open(NAME)).toBeNull();
  });

  it('refuses names that leave the folder', async () => {
    const files = folderFiles(goldenDir(NAME));
    for (const name of [`../${NAME}/config.json`, '..', '.', '', '/etc/passwd', 'a/../config.json', '..\\config.json', 'config.json\0']) {
      await expect(files.open(name)).rejects.toThrow(/refused: not the name of a file in the model folder/);
    }
  });

  it('opens any other file name, spaces and unicode included', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hymba-folder-'));
    try {
      writeFileSync(path.join(dir, 'my model · 1.json'), '{}');
      const src = await folderFiles(dir).open('my model · 1.json');
      expect(new TextDecoder().decode(await src!.read(0, src!.size))).toBe('{}');
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('reads byte ranges as asked and short at the end of the file', async () => {
    const src = (await folderFiles(goldenDir(NAME)).open('model.safetensors'))!;
    expect(src.size).toBe(golden.modelBytes.length);
    expect(await src.read(8, 16)).toEqual(golden.modelBytes.subarray(8, 24));
    expect(await src.read(src.size - 4, 100)).toEqual(golden.modelBytes.subarray(src.size - 4));
  });
});
