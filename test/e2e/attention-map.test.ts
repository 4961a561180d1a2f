// <hymba-attention-map> in lesson 2 on the English zoo's `en-hymba` (trained with meta tokens) and `en-parallel-swa-kv` (without), on its default sentence:
// it reaches ready, its per-head shares are a partition of each query's attention, switching the meta tokens off
// moves attention mass onto the first real token, the toggle redraws the map without the meta columns, and the
// layer / head / meta settings round-trip through the URL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { assertWebGpuAdapter, openSite, screenshot, waitForStatus, type Site } from './harness.ts';

const LESSON = '/lessons/02-meta-tokens/';
const WIDGET = 'hymba-attention-map';

let site: Site;
let page: Page;

async function openReady(path: string): Promise<Page> {
  const p = await site.open(path);
  await p.locator(WIDGET).scrollIntoViewIfNeeded();
  await waitForStatus(p, WIDGET, 'ready');
  return p;
}

const summary = (p: Page) =>
  p.$eval(WIDGET, (el) => {
    const s = el.stats!;
    const run = (r: typeof s.metaOn | null) =>
      r ? { label: r.label, numMeta: r.numMeta, mean: r.mean, heads: r.layers.flatMap((l) => l.heads) } : null;
    return { metaOn: run(s.metaOn)!, metaOff: run(s.metaOff), compare: run(s.compare) };
  });

beforeAll(async () => {
  site = await openSite();
  page = await site.open(LESSON);
  await assertWebGpuAdapter(page);
  await page.locator(WIDGET).scrollIntoViewIfNeeded();
  await waitForStatus(page, WIDGET, 'ready');
});

afterAll(async () => {
  await site?.close();
});

describe('lesson 2: <hymba-attention-map>', () => {
  it('runs en-hymba with and without its meta tokens, and en-parallel-swa-kv, each a partition of attention', async () => {
    const s = await summary(page);
    expect(s.metaOn.numMeta).toBeGreaterThan(0);
    expect(s.metaOff?.numMeta).toBe(0);
    expect(s.compare?.label).toBe('en-parallel-swa-kv');
    expect(s.compare?.numMeta).toBe(0);
    for (const run of [s.metaOn, s.metaOff!, s.compare!]) {
      expect(run.heads.length).toBeGreaterThan(0);
      for (const h of run.heads) expect(h.meta + h.first + h.self + h.cross).toBeCloseTo(1, 4);
    }
    expect(s.metaOff!.heads.every((h) => h.meta === 0)).toBe(true);
  });

  it('switching meta tokens off moves attention mass onto the first real token', async () => {
    const s = await summary(page);
    expect(s.metaOn.mean.meta).toBeGreaterThan(0.05); // the trained model does use its meta tokens
    expect(s.metaOff!.mean.first).toBeGreaterThan(s.metaOn.mean.first);
    // The sentence the reader sees carries the same numbers.
    const finding = await page.$eval(WIDGET, (el) => el.shadowRoot!.querySelector('[data-finding]')!.textContent!.replace(/\s+/g, ' '));
    expect(finding).toContain(`the first real token gets ${(100 * s.metaOff!.mean.first).toFixed(1)}%`);
  });

  it('the toggle redraws the map without the meta columns', async () => {
    const side = () =>
      page.$eval(WIDGET, (el) => {
        const fig = el.shadowRoot!.querySelector('.maps figure')!;
        return { run: fig.getAttribute('data-run'), rows: (fig.querySelector('hl-heatmap') as HTMLElement & { rows: number }).rows };
      });
    const on = await side();
    expect(on.run).toBe('en-hymba');
    await page.locator(WIDGET).locator('input[name=meta]').uncheck();
    await page.waitForFunction(
      (sel) => document.querySelector(sel)!.shadowRoot!.querySelector('.maps figure')!.getAttribute('data-run') === 'en-hymba, meta off',
      WIDGET,
    );
    const off = await side();
    const s = await summary(page);
    expect(on.rows - off.rows).toBe(s.metaOn.numMeta);
    expect(new URL(page.url()).searchParams.get('meta-map.meta')).toBe('0');
    await screenshot(page, 'lesson-02-attention-map-meta-off');
  });

  it('round-trips layer, head and meta through the URL', async () => {
    const layers = await page.$eval(WIDGET, (el) => el.stats!.metaOn.layers.map((l) => ({ layer: l.layer, heads: l.heads.length })));
    const target = layers[layers.length - 1];
    await page.locator(WIDGET).locator('select[name=layer]').selectOption(String(target.layer));
    await page
      .locator(WIDGET)
      .locator('select[name=head]')
      .selectOption(String(target.heads - 1));
    const url = new URL(page.url());
    expect(url.searchParams.get('meta-map.head')).toBe(String(target.heads - 1));
    const again = await openReady(url.pathname + url.search);
    const state = await again.$eval(WIDGET, (el) => ({
      layer: el.layer,
      head: el.head,
      meta: el.meta,
      run: el.shadowRoot!.querySelector('.maps figure')!.getAttribute('data-run'),
    }));
    expect(state).toEqual({ layer: target.layer, head: target.heads - 1, meta: false, run: 'en-hymba, meta off' });
    await again.close();
  });

  it('made no console errors and no request off the site', () => {
    expect(site.consoleErrors).toEqual([]);
    expect(site.offOriginRequests).toEqual([]);
  });
});
