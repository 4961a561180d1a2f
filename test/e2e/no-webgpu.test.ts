// Capability tiers: Chromium launched WITHOUT WebGPU (no unsafe-webgpu / SwiftShader flags, and --disable-webgpu).
// Every lesson must still teach: each widget on each lesson reaches `ready` on the CPU tier, and says so where the
// tier matters. The train lab, which needs WebGPU to train, shows the zoo model's recorded run instead (the
// recorded-trace tier).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../paths.ts';
import { launch, NO_WEBGPU_ARGS, serveSite, type Browser, type Served } from './embed-support.ts';

const lessons = readdirSync(path.join(repoRoot, 'lessons'))
  .filter((f) => f.endsWith('.mdx'))
  .map((f) => f.slice(0, -'.mdx'.length))
  .sort();

let site: Served;
let browser: Browser;

beforeAll(async () => {
  site = await serveSite();
  browser = await launch(NO_WEBGPU_ARGS);
});
afterAll(async () => {
  await browser?.close();
  await site?.stop();
});

describe('without WebGPU', () => {
  it('the browser really has no WebGPU adapter', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${site.origin}/`);
    const gpu = await page.evaluate(async () => (navigator.gpu ? String(await navigator.gpu.requestAdapter()) : 'no navigator.gpu'));
    expect(['no navigator.gpu', 'null']).toContain(gpu);
    await page.close();
  });

  it.each(lessons)('lesson %s: every widget reaches ready on the CPU tier', async (lesson) => {
    const page = await browser.context.newPage();
    await page.goto(`${site.origin}/lessons/${lesson}/`);
    const inSource = (
      readFileSync(path.join(repoRoot, 'lessons', `${lesson}.mdx`), 'utf8').match(/^(?:<hl-predict[^>]*>)?<hymba-[a-z-]+/gm) ?? []
    ).length;
    // Widgets set `status` once their module has loaded and upgraded them: wait for all of them, not a race.
    await page.waitForFunction((n) => document.querySelectorAll('article [status]').length >= n, inSource, { timeout: 30_000 });
    const count = await page.locator('article :is([status])').count();
    const outcomes: { tag: string; status: string; text: string }[] = [];
    for (let i = 0; i < count; i++) {
      const el = page.locator('article [status]').nth(i);
      await el.scrollIntoViewIfNeeded();
      await el.evaluate(
        (node) =>
          new Promise<void>((resolve) => {
            const done = () => ['ready', 'error'].includes(node.getAttribute('status') ?? '');
            if (done()) return resolve();
            new MutationObserver((_, obs) => done() && (obs.disconnect(), resolve())).observe(node, { attributes: true });
          }),
      );
      outcomes.push(
        await el.evaluate((node) => ({
          tag: node.localName,
          status: node.getAttribute('status')!,
          text: node.shadowRoot?.textContent ?? '',
        })),
      );
    }
    expect(outcomes.length, 'widgets on the page vs tags in the lesson').toBe(inSource);
    for (const o of outcomes) {
      expect(o.status, `<${o.tag}> on the CPU tier: ${o.text.slice(0, 300)}`).toBe('ready');
      if (o.tag === 'hymba-train-lab') expect(o.text).toContain('recorded training run');
      // Never a sentence that promises a GPU result where none ran.
      expect(o.text).not.toContain('Computed by a WGSL kernel');
    }
    await page.close();
  });

  it('the slice widget says it runs on the CPU, and its numbers are RMSNorm', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${site.origin}/lessons/00-welcome/`);
    await page.locator('hymba-rmsnorm-demo').scrollIntoViewIfNeeded();
    await page.waitForSelector('hymba-rmsnorm-demo[status=ready]');
    const r = await page.$eval('hymba-rmsnorm-demo', (el) => ({
      note: el.shadowRoot!.querySelector('.tier')?.textContent ?? '',
      x: Array.from(el.inputs!.x.subarray(0, 64)),
      y: Array.from(el.values!.subarray(0, 64)),
      w: Array.from(el.inputs!.weight),
    }));
    expect(r.note).toContain('Running on the CPU');
    const inv = 1 / Math.sqrt(r.x.reduce((s, v) => s + v * v, 0) / 64 + 1e-6);
    r.y.forEach((v, c) => expect(v).toBeCloseTo(r.w[c] * r.x[c] * inv, 5));
    await page.close();
  });

  it('made no console errors and no request off the site', () => {
    expect(browser.errors).toEqual([]);
    expect(browser.requests.filter((u) => !u.startsWith(site.origin) && !/^(data|blob|about):/.test(u))).toEqual([]);
  });
});
