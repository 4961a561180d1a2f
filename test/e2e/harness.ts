// End-to-end harness: the built site (dist/) served in-process on a free port, opened in the system Chromium with
// WebGPU on SwiftShader. Records console errors and any request that leaves the site's origin (the site must work
// offline), and fails loudly, never skips, when Chromium or a WebGPU adapter is missing.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { serve } from '../../scripts/serve.mjs';
import { repoRoot } from '../paths.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const distDir = path.join(repoRoot, 'dist');
export const resultsDir = path.join(repoRoot, 'test-results');

const INSTALL_HINT =
  'On Debian/Ubuntu: apt-get install chromium libvulkan1 (chromium ships the SwiftShader Vulkan driver WebGPU uses here).';

export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-webgpu-adapter=swiftshader',
  '--enable-unsafe-swiftshader',
  '--no-sandbox',
  '--headless=new',
  '--disable-background-networking',
  '--disable-component-update',
];

export interface Site {
  /** e.g. http://localhost:41234 (no trailing slash) */
  origin: string;
  context: BrowserContext;
  /** Console errors and uncaught page errors, from every page opened in this context. */
  consoleErrors: string[];
  /** Requests to any origin other than the site's. */
  offOriginRequests: string[];
  /** A new page; `path` like '/lessons/00-welcome/'. */
  open(path: string): Promise<Page>;
  close(): Promise<void>;
}

/** Serve dist/ and launch Chromium. Throws with an install hint if something the tests need is missing. */
export async function openSite(): Promise<Site> {
  if (!existsSync(path.join(distDir, 'index.html'))) {
    throw new Error(`dist/ is not built: run \`npm test\` (it builds first) or \`npm run build\`.`);
  }
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}; the browser tests need it. ${INSTALL_HINT}`);
  }
  const server = await serve(distDir, 0);
  const origin = `http://localhost:${server.port}`;
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'hymba-e2e-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      headless: true,
      viewport: { width: 1000, height: 800 },
    });
  } catch (e) {
    await server.close();
    rmSync(userDataDir, { recursive: true, force: true });
    throw new Error(`Chromium at ${CHROMIUM} failed to start: ${(e as Error).message}\n${INSTALL_HINT}`, { cause: e });
  }

  const consoleErrors: string[] = [];
  const offOriginRequests: string[] = [];
  const watch = (page: Page) => {
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(`${page.url()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => consoleErrors.push(`${page.url()}: uncaught ${err.name}: ${err.message}`));
  };
  context.on('page', watch);
  context.pages().forEach(watch);
  context.on('request', (req) => {
    const url = new URL(req.url());
    if (url.protocol === 'data:' || url.protocol === 'blob:') return; // inline, never on the network
    if (url.origin !== origin) offOriginRequests.push(req.url());
  });

  return {
    origin,
    context,
    consoleErrors,
    offOriginRequests,
    async open(pagePath: string) {
      const page = await context.newPage();
      const response = await page.goto(origin + pagePath);
      if (!response?.ok()) throw new Error(`GET ${pagePath} returned ${response?.status()}`);
      return page;
    },
    async close() {
      await context.close();
      await server.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Fail (not skip) if this page has no WebGPU adapter: every widget would only show its error box. */
export async function assertWebGpuAdapter(page: Page): Promise<{ vendor: string; architecture: string }> {
  const info = await page.evaluate(async () => {
    if (!navigator.gpu) return 'no navigator.gpu';
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) return 'navigator.gpu.requestAdapter() returned null';
    return { vendor: adapter.info.vendor, architecture: adapter.info.architecture };
  });
  if (typeof info === 'string') throw new Error(`WebGPU is unavailable in Chromium (${info}). ${INSTALL_HINT}`);
  return info;
}

/**
 * How long a widget may take to become ready. A live widget in a fresh browser first compiles its WGSL pipelines on
 * SwiftShader, then computes (the cache meter decodes its tokens one step at a time): on a loaded 2-core CI machine
 * a cache meter has taken over 30 s.
 */
export const WIDGET_READY_MS = 90_000;

/**
 * Wait until the widget matching `selector` has `status="<status>"`. If it reaches `error` first, fail at once with
 * the message the widget shows to the reader.
 */
export async function waitForStatus(
  page: Page,
  selector: string,
  status: 'ready' | 'running' | 'loading',
  timeoutMs = WIDGET_READY_MS,
): Promise<void> {
  const handle = await page.waitForFunction(
    ({ selector, status }) => {
      const el = document.querySelector(selector);
      const current = el?.getAttribute('status');
      if (current === status) return { ok: true, text: '' };
      if (current === 'error') return { ok: false, text: el!.shadowRoot?.textContent?.trim() ?? '(no message)' };
      return false;
    },
    { selector, status },
    { timeout: timeoutMs },
  );
  const result = (await handle.jsonValue()) as { ok: boolean; text: string };
  if (!result.ok) throw new Error(`${selector} went to status=error instead of ${status}: ${result.text}`);
}

/** Save a full-page screenshot to test-results/<name>.png and return its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
