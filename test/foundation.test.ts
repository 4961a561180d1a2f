// The project plumbing: the static server behind `npm start` and the e2e tests, and the closing line of `npm test`.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve } from '../scripts/serve.mjs';
import { countResults, summaryLine } from '../scripts/test.mjs';

/** GET a path exactly as written (no URL normalisation). */
function rawGet(port: number, rawPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: 'localhost', port, path: rawPath }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('scripts/serve.mjs', () => {
  let parent: string;
  let dir: string;
  let site: Awaited<ReturnType<typeof serve>>;
  const get = (p: string) => fetch(site.url.replace(/\/$/, '') + p, { redirect: 'manual' });

  beforeAll(async () => {
    parent = mkdtempSync(path.join(os.tmpdir(), 'hymba-serve-'));
    writeFileSync(path.join(parent, 'secret.txt'), 'secret');
    dir = path.join(parent, 'site');
    mkdirSync(path.join(dir, 'lessons', 'a'), { recursive: true });
    writeFileSync(path.join(dir, 'index.html'), '<h1>home</h1>');
    writeFileSync(path.join(dir, '404.html'), '<h1>missing</h1>');
    writeFileSync(path.join(dir, 'lessons', 'a', 'index.html'), '<h1>lesson a</h1>');
    writeFileSync(path.join(dir, 'app.js'), 'export {}');
    writeFileSync(path.join(dir, 'model.safetensors'), Buffer.from([1, 2, 3]));
    writeFileSync(path.join(dir, 'engine.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d]));
    writeFileSync(path.join(dir, 'trace.json'), '{}');
    site = await serve(dir, 0);
  });
  afterAll(async () => {
    await site?.close();
    rmSync(parent, { recursive: true, force: true });
  });

  it('serves directory index pages and redirects a directory without its slash', async () => {
    expect(await (await get('/')).text()).toBe('<h1>home</h1>');
    const lesson = await get('/lessons/a/');
    expect(lesson.status).toBe(200);
    expect(lesson.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await lesson.text()).toBe('<h1>lesson a</h1>');
    const redirect = await get('/lessons/a');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('/lessons/a/');
  });

  it('sends the MIME types browsers need', async () => {
    expect((await get('/app.js')).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await get('/engine.wasm')).headers.get('content-type')).toBe('application/wasm');
    expect((await get('/trace.json')).headers.get('content-type')).toBe('application/json; charset=utf-8');
    const weights = await get('/model.safetensors');
    expect(weights.headers.get('content-type')).toBe('application/octet-stream');
    expect([...new Uint8Array(await weights.arrayBuffer())]).toEqual([1, 2, 3]);
  });

  it('answers unknown paths, and paths escaping the root, with the 404 page', async () => {
    const missing = await get('/nope/');
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('<h1>missing</h1>');
    // fetch() would normalise "/../" away, so send raw paths that point at a file next to the served folder.
    for (const raw of ['/../secret.txt', '/..%2fsecret.txt', '/%2e%2e/secret.txt']) {
      const { status, body } = await rawGet(site.port, raw);
      expect(status, raw).toBe(404);
      expect(body).not.toContain('secret');
    }
  });

  it('moves to a free port when the requested one is busy', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, resolve));
    const busy = (blocker.address() as { port: number }).port;
    const second = await serve(dir, busy);
    try {
      expect(second.port).not.toBe(busy);
      expect((await fetch(second.url)).status).toBe(200);
    } finally {
      await second.close();
      blocker.close();
    }
  });
});

describe('scripts/test.mjs summary', () => {
  const file = (status: string, tests: string[]) => ({ status, assertionResults: tests.map((s) => ({ status: s })) });

  it('counts passed, failed and skipped tests', () => {
    const counts = countResults({
      numPassedTests: 5,
      numFailedTests: 1,
      numPendingTests: 2,
      numTodoTests: 1,
      testResults: [file('passed', ['passed', 'passed']), file('failed', ['passed', 'failed'])],
    });
    expect(counts).toEqual({ passed: 5, failed: 1, skipped: 3 });
    expect(summaryLine(counts)).toBe('5 passed, 1 failed, 3 skipped');
  });

  it('counts a test file that failed to load as a failure', () => {
    const counts = countResults({
      numPassedTests: 4,
      numFailedTests: 0,
      numPendingTests: 0,
      numTodoTests: 0,
      testResults: [file('passed', ['passed']), file('failed', [])],
    });
    expect(summaryLine(counts)).toBe('4 passed, 1 failed');
  });
});
