// Shared by the embed / offline / no-WebGPU / classroom / device-loss tests: Chromium with chosen flags, the built
// site on a server the test controls (so it can be stopped), and a second "host" origin that serves pages the test
// writes (with the headers it chooses, e.g. a Content-Security-Policy), falling back to a copy of dist/.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { createStaticServer } from '../../scripts/serve.mjs';
import { CHROMIUM, CHROMIUM_ARGS, distDir } from './harness.ts';

/** Chromium's flags without any WebGPU: no unsafe-webgpu, no SwiftShader adapter, and WebGPU switched off. */
export const NO_WEBGPU_ARGS = [
  ...CHROMIUM_ARGS.filter((a) => !/webgpu|swiftshader|Vulkan/i.test(a)),
  '--disable-webgpu',
  '--disable-features=WebGPU,Vulkan',
];

export interface Browser {
  context: BrowserContext;
  /** Console errors and uncaught errors of every page. */
  errors: string[];
  /** Every request URL, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function launch(args: string[] = CHROMIUM_ARGS): Promise<Browser> {
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'hymba-embed-e2e-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    args,
    headless: true,
    viewport: { width: 1000, height: 800 },
  });
  const errors: string[] = [];
  const requests: string[] = [];
  context.on('page', (page) => {
    page.on('console', (m) => m.type() === 'error' && errors.push(`${page.url()}: ${m.text()}`));
    page.on('pageerror', (e) => errors.push(`${page.url()}: uncaught ${e.name}: ${e.message}`));
  });
  context.on('request', (r) => requests.push(r.url()));
  return {
    context,
    errors,
    requests,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

export interface Served {
  origin: string;
  server: Server;
  /** Stop at once, dropping open keep-alive connections (a network that goes away). */
  stop(): Promise<void>;
}

async function listen(server: Server, host: string): Promise<Served> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as { port: number }).port;
  return {
    origin: `http://${host === '127.0.0.1' ? '127.0.0.1' : 'localhost'}:${port}`,
    server,
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The built site, as `npm start` serves it (scripts/serve.mjs), on http://localhost:<free port>. */
export const serveSite = (): Promise<Served> => listen(createStaticServer(distDir), 'localhost');

export interface HostPage {
  body: string;
  headers?: Record<string, string>;
}

/**
 * Another origin (http://127.0.0.1:<another port>): the given pages, and for any other path a copy of dist/ (a
 * self-hosted bundle, as a school would put it on its own server).
 */
export function serveHost(pages: Record<string, HostPage>): Promise<Served> {
  const files = createStaticServer(distDir);
  const server = createServer((req, res) => {
    const page = pages[new URL(req.url ?? '/', 'http://x').pathname];
    if (!page) return void files.emit('request', req, res);
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', ...page.headers });
    res.end(page.body);
  });
  return listen(server, '127.0.0.1');
}

/** A minimal host page around `content`. */
export const hostHtml = (content: string): string =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>host</title><link rel="icon" href="data:,"></head><body><p id="host-text">A course page.</p>${content}</body></html>`;
