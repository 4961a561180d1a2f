// The reader's model store (engine/checkpoint/browser-store.ts) in headless Chromium, on both of its backends (OPFS
// and the Cache API): re-saving a stored model from a download that breaks off halfway leaves the good copy, whole
// and listed, and nothing of the broken one; a re-save that completes replaces the copy and leaves no old files.
// The module is bundled with esbuild and run on a page of a local server that also serves the model files, one
// folder as it is and one whose model.safetensors is cut off after half its bytes (the connection dropped).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../paths.ts';
import { launch, type Browser } from './embed-support.ts';

const modelDir = path.join(repoRoot, 'models', 'hymba');
const config = readFileSync(path.join(modelDir, 'config.json'));
const weights = readFileSync(path.join(modelDir, 'model.safetensors'));
// A second, different model file of the same size, so a completed re-save is visible in the bytes.
const weights2 = Buffer.from(weights.map((b, i) => (i > 64 ? b ^ 0xff : b)));

const ENTRY = `
export { openModelStore } from './engine/checkpoint/browser-store.ts';
export { httpFiles } from './engine/checkpoint/stream.ts';
`;

// The page puts the module on window (page.evaluate cannot import(): Vitest rewrites dynamic imports).
const PAGE = `<!doctype html><title>store</title><script type="module">import * as m from '/store.js'; window.storeLib = m;</script>`;

let server: ReturnType<typeof createServer>;
let origin: string;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  const bundle = await build({ stdin: { contents: ENTRY, resolveDir: repoRoot, loader: 'ts' }, bundle: true, format: 'esm', write: false });
  const script = bundle.outputFiles[0].text;
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x').pathname;
    if (url === '/') return void res.writeHead(200, { 'Content-Type': 'text/html' }).end(PAGE);
    if (url === '/store.js') return void res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(script);
    const m = /^\/(good|other|cut)\/(config\.json|model\.safetensors)$/.exec(url);
    if (!m) return void res.writeHead(404).end();
    const body = m[2] === 'config.json' ? config : m[1] === 'other' ? weights2 : weights;
    // Range is ignored (200, the whole file): the loader then reads one streamed download front to back.
    res.writeHead(200, { 'Content-Length': body.length, 'Cache-Control': 'no-store' });
    if (req.method === 'HEAD') return void res.end();
    if (m[1] === 'cut' && m[2] === 'model.safetensors') {
      res.write(body.subarray(0, body.length >> 1));
      setTimeout(() => res.destroy(), 50); // the network goes away mid-download
      return;
    }
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  browser = await launch();
  page = await browser.context.newPage();
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => 'storeLib' in window);
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
});

interface Outcome {
  backend: string;
  saveError: string | null;
  listed: { id: string; bytes: number }[];
  /** The stored model.safetensors, as a checksum, and its size; null when files() finds no complete copy. */
  stored: { size: number; sum: number } | null;
  /** Every OPFS entry or Cache API key under the model, after the save. */
  entries: string[];
}

/** Save `first` under one id, then re-save the same id from `second`; report what is stored afterwards. */
function resave(useCache: boolean, first: string, second: string): Promise<Outcome> {
  return page.evaluate(
    async ({ useCache, first, second, origin }) => {
      const { openModelStore, httpFiles } = (
        window as unknown as {
          storeLib: typeof import('../../engine/checkpoint/browser-store.ts') & typeof import('../../engine/checkpoint/stream.ts');
        }
      ).storeLib;
      const real = navigator.storage;
      // Without getDirectory, openModelStore falls back to the Cache API (as in a browser without OPFS).
      const storage = useCache
        ? ({ estimate: () => real.estimate(), persisted: () => real.persisted(), persist: () => real.persist() } as StorageManager)
        : real;
      const store = (await openModelStore(storage, caches))!;
      const id = `m-${useCache ? 'cache' : 'opfs'}-${first}-${second}`;
      await store.save(id, httpFiles(`${origin}/${first}/`));
      let saveError: string | null = null;
      try {
        await store.save(id, httpFiles(`${origin}/${second}/`));
      } catch (e) {
        saveError = `${(e as Error).name}: ${(e as Error).message}`;
      }
      const listed = (await store.list())
        .filter((m: { id: string }) => m.id === id)
        .map((m: { id: string; bytes: number }) => ({ id: m.id, bytes: m.bytes }));
      const files = await store.files(id);
      let stored: Outcome['stored'] = null;
      if (files) {
        const src = (await files.open('model.safetensors'))!;
        const bytes: Uint8Array = await src.read(0, src.size);
        stored = { size: bytes.length, sum: bytes.reduce((a, b, i) => (a + b * (i % 251)) % 1_000_000_007, 0) };
      }
      const entries: string[] = [];
      if (useCache) {
        const cache = await caches.open(`hymba-lab-models-${id}`);
        for (const r of await cache.keys()) entries.push(new URL(r.url).pathname);
      } else {
        const walk = async (dir: FileSystemDirectoryHandle, prefix: string) => {
          for await (const [name, handle] of dir as unknown as AsyncIterable<[string, FileSystemHandle]>) {
            entries.push(prefix + name);
            if (handle.kind === 'directory') await walk(handle as FileSystemDirectoryHandle, `${prefix}${name}/`);
          }
        };
        const root = await (await navigator.storage.getDirectory()).getDirectoryHandle('hymba-lab-models');
        await walk(await root.getDirectoryHandle(id), '');
      }
      return { backend: store.backend, saveError, listed, stored, entries: entries.sort() };
    },
    { useCache, first, second, origin },
  );
}

const checksum = (bytes: Uint8Array) => bytes.reduce((a, b, i) => (a + b * (i % 251)) % 1_000_000_007, 0);
const total = config.length + weights.length;

describe.each([
  ['opfs', false],
  ['cache', true],
])('browser store (%s)', (backend, useCache) => {
  it('a re-save whose download breaks off keeps the good copy, listed and whole, and leaves nothing of the broken one', async () => {
    const r = await resave(useCache, 'good', 'cut');
    expect(r.backend).toBe(backend);
    expect(r.saveError).toMatch(/model\.safetensors.*broke off|network/);
    expect(r.listed).toEqual([{ id: `m-${backend}-good-cut`, bytes: total }]);
    expect(r.stored).toEqual({ size: weights.length, sum: checksum(weights) });
    // The manifest and one copy: config.json and model.safetensors in one copy folder.
    const files = r.entries.filter((e) => /(config\.json|model\.safetensors)$/.test(e));
    expect(files).toHaveLength(2);
    expect(new Set(files.map((f) => path.dirname(f))).size).toBe(1);
  });

  it('a re-save that completes replaces the copy and removes the old one', async () => {
    const r = await resave(useCache, 'good', 'other');
    expect(r.saveError).toBeNull();
    expect(r.listed).toEqual([{ id: `m-${backend}-good-other`, bytes: total }]);
    expect(r.stored).toEqual({ size: weights2.length, sum: checksum(weights2) });
    expect(r.entries.filter((e) => /(config\.json|model\.safetensors)$/.test(e))).toHaveLength(2);
  });
});

it('no console errors', () => {
  // The cut download is expected to log nothing: the store reports it as a thrown error.
  expect(browser.errors.filter((e) => !/ERR_CONTENT_LENGTH_MISMATCH|Failed to load resource/.test(e))).toEqual([]);
});
