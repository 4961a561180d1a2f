// <hymba-cache-meter> in the cache lesson: per-layer bytes that follow the cache rules as tokens are generated
// (global layers grow, window owners stop at W, consumers hold no KV), the paper's 11.67× derived from the configs,
// URL round-trips, and CSV / PNG exports with the data the widget shows.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openSite, screenshot, waitForStatus, type Site } from './harness.ts';

const LESSON = '/lessons/04-the-cache/';
const WIDGET = 'hymba-cache-meter';
// With ?meter.model=hymba the meter runs live on the zoo model `hymba` (models/hymba/config.json): 4 layers, global 0 and 3,
// layer 1 a window owner whose K/V layer 2 reuses, 8 meta tokens, W = 16, 1 KV head with Q/K dim 64/2 = 32 and
// V dim d_inner/heads = 128/2 = 64. The live session keeps K/V in f32: (32 + 64) × 4 B per cached position.
const ENTRY_BYTES = 1 * (32 + 64) * 4;
const META = 8;
const W = 16;
const GLOBAL = [0, 3];
const SSM_STATE_BYTES = 128 * 16 * 4; // d_inner × d_state f32 values per layer

let site: Site;

beforeAll(async () => {
  site = await openSite();
});
afterAll(async () => {
  await site?.close();
});

async function openReady(path: string): Promise<Page> {
  const page = await site.open(path);
  await page.locator(WIDGET).scrollIntoViewIfNeeded();
  await waitForStatus(page, WIDGET, 'ready');
  return page;
}

/** KV bytes per layer as the meter draws them (data attributes of its SVG rows). */
const shownKv = (page: Page) =>
  page.$eval(WIDGET, (el) =>
    Array.from(el.shadowRoot!.querySelectorAll('.meter g.layer')).map((g) => ({
      layer: Number(g.getAttribute('data-layer')),
      kind: g.getAttribute('data-kind')!,
      kv: Number(g.getAttribute('data-kv-bytes')),
    })),
  );

describe('cache lesson: <hymba-cache-meter>', () => {
  it("derives the paper's 918 MB vs 78.6 MB (11.67×) from the two configs", async () => {
    const page = await openReady(LESSON);
    const text = await page.$eval(WIDGET, (el) => ({
      hymba: el.shadowRoot!.querySelector('.hymba-mb')!.textContent,
      ratios: Array.from(el.shadowRoot!.querySelectorAll('li')).map((li) => li.textContent!.replace(/\s+/g, ' ').trim()),
    }));
    expect(text.hymba).toBe('78.60 MB');
    expect(text.ratios[0]).toContain('llama-3.2-3b: 917.5 MB, 11.67×');
    await screenshot(page, 'cache-meter');
    await page.close();
  });

  it('generating past the window grows the global layers only; the URL round-trips the state', async () => {
    const page = await openReady(`${LESSON}?meter.model=hymba&meter.tokens=100&meter.windowRule=prefill`);
    expect(await page.$eval(WIDGET, (el) => [el.tokens, el.windowRule])).toEqual([100, 'prefill']);
    expect(await page.locator(`${WIDGET} select[name=windowRule]`).inputValue()).toBe('prefill');
    const before = await shownKv(page);
    expect(before).toHaveLength(4);
    expect(before.filter((l) => l.kv > 0).map((l) => l.layer)).toEqual([0, 1, 3]); // layer 2 reuses layer 1's cache
    for (const l of before.filter((l) => l.kind === 'global')) expect(l.kv).toBe((META + 100) * ENTRY_BYTES);
    // prefill rule: W + 1 positions per window owner, plus the meta tokens.
    for (const l of before.filter((l) => l.kind === 'swa')) expect(l.kv).toBe((META + W + 1) * ENTRY_BYTES);

    await page.locator(`${WIDGET} button[name=generate]`).click();
    await waitForStatus(page, WIDGET, 'ready');
    const after = await shownKv(page);
    const tokens = await page.$eval(WIDGET, (el) => el.tokens);
    expect(tokens).toBeGreaterThan(100);
    for (const layer of GLOBAL) {
      const b = before.find((l) => l.layer === layer)!;
      const a = after.find((l) => l.layer === layer)!;
      expect(a.kv - b.kv).toBe((Math.min(tokens, 256) - 100) * ENTRY_BYTES);
    }
    for (const a of after.filter((l) => l.kind !== 'global')) expect(a.kv).toBe(before.find((l) => l.layer === a.layer)!.kv);
    const url = new URL(page.url());
    expect(url.searchParams.get('meter.tokens')).toBe(String(tokens));
    expect(url.searchParams.get('meter.windowRule')).toBe('prefill');

    // Back to the lesson's rule: the setting leaves the link, and window owners hold one position fewer.
    await page.locator(`${WIDGET} select[name=windowRule]`).selectOption('hf');
    await waitForStatus(page, WIDGET, 'ready');
    expect(new URL(page.url()).searchParams.get('meter.windowRule')).toBeNull();
    for (const l of (await shownKv(page)).filter((l) => l.kind === 'swa')) expect(l.kv).toBe((META + W) * ENTRY_BYTES);
    await page.close();
  });

  it('exports the per-layer table as CSV and the chart as PNG', async () => {
    const page = await openReady(`${LESSON}?meter.model=hymba&meter.tokens=12`);
    const [csvFile] = await Promise.all([page.waitForEvent('download'), page.locator(`${WIDGET} button[data-export=csv]`).click()]);
    const lines = readFileSync((await csvFile.path())!, 'utf8')
      .trim()
      .split('\r\n');
    expect(lines[0]).toBe('layer,kind,kv_source,kv_entries,kv_bytes,conv_state_bytes,ssm_state_bytes');
    const rows = lines.slice(1).map((l) => l.split(','));
    expect(rows).toHaveLength(4);
    expect(rows[0].slice(0, 5)).toEqual(['0', 'global', '0', String(META + 12), String((META + 12) * ENTRY_BYTES)]);
    expect(rows[2].slice(0, 5)).toEqual(['2', 'consumer', '1', '0', '0']);
    // Below the window, a window owner holds every token so far; the SSM state is the same size in every layer.
    expect(rows[1].slice(3, 5)).toEqual([String(META + 12), String((META + 12) * ENTRY_BYTES)]);
    expect(new Set(rows.map((r) => r[6]))).toEqual(new Set([String(SSM_STATE_BYTES)]));

    const [pngFile] = await Promise.all([page.waitForEvent('download'), page.locator(`${WIDGET} button[data-export=png]`).click()]);
    const png = readFileSync((await pngFile.path())!);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.readUInt32BE(16)).toBeGreaterThan(300); // width (2× the on-screen chart)
    await page.close();
  });

  it('fits a 375 px phone screen', async () => {
    const page = await site.open(LESSON);
    await page.setViewportSize({ width: 375, height: 700 });
    await page.locator(WIDGET).scrollIntoViewIfNeeded();
    await waitForStatus(page, WIDGET, 'ready');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await page.locator(WIDGET).screenshot({ path: 'test-results/cache-meter-375.png' });
    await page.close();
  });

  it('made no console errors and no request off the site', () => {
    expect(site.consoleErrors).toEqual([]);
    expect(site.offOriginRequests).toEqual([]);
  });
});
