// <hymba-cache-meter> in the cache lesson: per-layer bytes that follow the cache rules as tokens are generated
// (global layers grow, window owners stop at W, consumers hold no KV), the paper's 11.67× derived from the configs,
// URL round-trips, and CSV / PNG exports with the data the widget shows.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openSite, screenshot, waitForStatus, type Site } from './harness.ts';

const LESSON = '/lessons/04-the-cache/';
const WIDGET = 'hymba-cache-meter';
/** Hymba-1.5B: 5 KV heads × (64 + 128) values × 2 B per cached position (f16), 128 meta tokens, W = 1024. */
const ENTRY_BYTES = 5 * (64 + 128) * 2;
const META = 128;
const GLOBAL = [0, 15, 31];

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
    const page = await openReady(`${LESSON}?meter.tokens=1100&meter.windowRule=prefill`);
    expect(await page.$eval(WIDGET, (el) => [el.tokens, el.windowRule])).toEqual([1100, 'prefill']);
    expect(await page.locator(`${WIDGET} select[name=windowRule]`).inputValue()).toBe('prefill');
    const before = await shownKv(page);
    expect(before).toHaveLength(32);
    expect(before.filter((l) => l.kv > 0)).toHaveLength(17); // 3 global + 14 window owners own a cache
    for (const l of before.filter((l) => l.kind === 'global')) expect(l.kv).toBe((META + 1100) * ENTRY_BYTES);
    // prefill rule: W + 1 = 1025 positions per window owner.
    for (const l of before.filter((l) => l.kind === 'swa')) expect(l.kv).toBe((META + 1025) * ENTRY_BYTES);

    await page.locator(`${WIDGET} button[name=generate]`).click();
    await waitForStatus(page, WIDGET, 'ready');
    const after = await shownKv(page);
    const tokens = await page.$eval(WIDGET, (el) => el.tokens);
    expect(tokens).toBeGreaterThan(1100);
    for (const layer of GLOBAL) {
      const b = before.find((l) => l.layer === layer)!;
      const a = after.find((l) => l.layer === layer)!;
      expect(a.kv - b.kv).toBe((tokens - 1100) * ENTRY_BYTES);
    }
    for (const a of after.filter((l) => l.kind !== 'global')) expect(a.kv).toBe(before.find((l) => l.layer === a.layer)!.kv);
    const url = new URL(page.url());
    expect(url.searchParams.get('meter.tokens')).toBe(String(tokens));
    expect(url.searchParams.get('meter.windowRule')).toBe('prefill');

    // Back to the lesson's rule: the setting leaves the link, and window owners hold one position fewer.
    await page.locator(`${WIDGET} select[name=windowRule]`).selectOption('hf');
    await waitForStatus(page, WIDGET, 'ready');
    expect(new URL(page.url()).searchParams.get('meter.windowRule')).toBeNull();
    for (const l of (await shownKv(page)).filter((l) => l.kind === 'swa')) expect(l.kv).toBe((META + 1024) * ENTRY_BYTES);
    await page.close();
  });

  it('exports the per-layer table as CSV and the chart as PNG', async () => {
    const page = await openReady(`${LESSON}?meter.tokens=300`);
    const [csvFile] = await Promise.all([page.waitForEvent('download'), page.locator(`${WIDGET} button[data-export=csv]`).click()]);
    const lines = readFileSync((await csvFile.path())!, 'utf8')
      .trim()
      .split('\r\n');
    expect(lines[0]).toBe('layer,kind,kv_source,kv_entries,kv_bytes,conv_state_bytes,ssm_state_bytes');
    const rows = lines.slice(1).map((l) => l.split(','));
    expect(rows).toHaveLength(32);
    expect(rows[0].slice(0, 5)).toEqual(['0', 'global', '0', String(META + 300), String((META + 300) * ENTRY_BYTES)]);
    expect(rows[2].slice(0, 5)).toEqual(['2', 'consumer', '1', '0', '0']);
    // Below the window, a window owner holds every token so far; SSM state = 3200 × 16 f32 values in every layer.
    expect(rows[1].slice(3, 5)).toEqual([String(META + 300), String((META + 300) * ENTRY_BYTES)]);
    expect(new Set(rows.map((r) => r[6]))).toEqual(new Set([String(3200 * 16 * 4)]));

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
