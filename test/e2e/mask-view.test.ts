// <hymba-mask-view> in the sliding-windows lesson: it waits until visible, draws the mask the lesson describes,
// the window slider changes the visible cells as the rule q − k ≤ W says, settings round-trip through the URL
// (hostile values included), and the CSV export holds the drawn mask.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openSite, screenshot, waitForStatus, type Site } from './harness.ts';
import { repoRoot } from '../paths.ts';

const LESSON = '/lessons/03-sliding-windows/';
const WIDGET = 'hymba-mask-view';

/** Visible query–key pairs of a windowed layer, counted from the rule directly (meta rows see the meta before them). */
function expectedSwa(meta: number, tokens: number, window: number): number {
  let n = (meta * (meta + 1)) / 2;
  for (let i = 0; i < tokens; i++) n += meta + Math.min(i, window) + 1;
  return n;
}

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

const read = (page: Page) =>
  page.$eval(WIDGET, (el) => ({
    visible: el.visibleCells,
    window: el.window,
    layer: el.layer,
    meta: el.meta,
    metaShown: el.metaShown,
    side: el.side,
    text: el.shadowRoot!.querySelector('.visible-count')!.textContent!.replace(/\s+/g, ' '),
  }));

describe('sliding-windows lesson: <hymba-mask-view>', () => {
  it('waits, offscreen, until it is scrolled into view', async () => {
    const page = await site.open(LESSON);
    // The element upgrades when its module has loaded, which can come after the page's load event under CI load.
    await page.waitForFunction((sel) => document.querySelector(sel)?.shadowRoot?.textContent?.includes('Waiting'), WIDGET);
    const before = await page.$eval(WIDGET, (el) => ({ status: el.getAttribute('status'), text: el.shadowRoot!.textContent! }));
    expect(before.status).toBe('loading');
    expect(before.text).toContain('Waiting until visible');
    await page.locator(WIDGET).scrollIntoViewIfNeeded();
    await waitForStatus(page, WIDGET, 'ready');
    await page.close();
  });

  it('draws the windowed mask of the lesson and the slider moves it as q − k ≤ W says', async () => {
    // The lesson draws the Hymba-1.5B preset; the link below switches it to the zoo's 4-layer `hymba`.
    const page = await openReady(`${LESSON}?mask.model=hymba`);
    const start = await read(page);
    // The lesson's attributes: W = 6, 24 tokens, layer 1 (windowed), meta on (4 of 128 drawn).
    expect([start.window, start.layer, start.meta, start.metaShown, start.side]).toEqual([6, 1, true, 4, 28]);
    expect(start.visible).toBe(expectedSwa(4, 24, 6));
    expect(start.text).toContain(`${expectedSwa(4, 24, 6)} of ${(28 * 29) / 2}`);

    // Keyboard on the slider: one step right widens the window by one, every query past W sees one more key.
    await page.locator(`${WIDGET} input[name=window]`).focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await waitForStatus(page, WIDGET, 'ready');
    const wider = await read(page);
    expect(wider.window).toBe(8);
    expect(wider.visible).toBe(expectedSwa(4, 24, 8));
    expect(wider.visible).toBeGreaterThan(start.visible);
    expect(new URL(page.url()).searchParams.get('mask.window')).toBe('8');

    // A global layer sees the whole causal triangle. The link draws the zoo's `hymba` (models/hymba/config.json:
    // global_attn_idx [0, 3]).
    await page.locator(`${WIDGET} .layers button`, { hasText: /^\s*3\s*$/ }).click();
    await waitForStatus(page, WIDGET, 'ready');
    expect((await read(page)).visible).toBe((28 * 29) / 2);
    // With the zoo's cards on the site, copy accuracy by distance is drawn from them (swa and hymba): every bucket of
    // each card's copy table, with the card's accuracy.
    expect(await page.locator(WIDGET).locator('.recall-missing').count()).toBe(0);
    const recallRows = await page.$eval(WIDGET, (el) => el.shadowRoot!.textContent!);
    expect(recallRows).toContain('Selective copying: accuracy by key→query distance');
    const drawn = await page.$eval(WIDGET, (el) => el.recall!.map((p) => [p.bucket, p.accuracy]));
    const copyTable = (name: string) =>
      Object.entries(JSON.parse(readFileSync(path.join(repoRoot, 'models', name, 'card.json'), 'utf8')).tasks.copy.by_distance).map(
        ([bucket, v]) => [bucket, (v as { accuracy: number }).accuracy],
      );
    expect(drawn).toEqual([...copyTable('swa'), ...copyTable('hymba')]);
    await screenshot(page, 'mask-view');
    await page.close();
  });

  it('round-trips its settings through the URL, and survives a hostile one', async () => {
    const page = await openReady(`${LESSON}?mask.window=3&mask.layer=2&mask.meta=0`);
    const s = await read(page);
    expect([s.window, s.layer, s.meta, s.metaShown]).toEqual([3, 2, false, 0]);
    expect(s.visible).toBe(expectedSwa(0, 24, 3));
    expect(await page.locator(`${WIDGET} input[name=window]`).inputValue()).toBe('3');
    expect(await page.locator(`${WIDGET} input[name=meta]`).isChecked()).toBe(false);
    // Change a control: the URL follows, keeping the other settings.
    await page.locator(`${WIDGET} input[name=meta]`).check();
    await waitForStatus(page, WIDGET, 'ready');
    const url = new URL(page.url());
    expect(url.searchParams.get('mask.meta')).toBeNull(); // back to the lesson's value: left out of the link
    expect(url.searchParams.get('mask.window')).toBe('3');
    await page.close();

    const hostile = await openReady(
      `${LESSON}?mask.window=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E&mask.layer=-99999&mask.tokens=1e999&mask.model=..%2F..%2Fevil`,
    );
    const h = await read(hostile);
    expect(h.window).toBe(8); // unreadable → the setting's default
    expect(h.layer).toBe(0); // clamped
    expect(await hostile.$eval(WIDGET, (el) => [el.tokens, el.model])).toEqual([24, '']); // 1e999 is not finite; a path is not a model name
    expect(await hostile.$eval(WIDGET, (el) => el.shadowRoot!.querySelector('img'))).toBeNull();
    await hostile.close();
  });

  it('exports the drawn mask as CSV', async () => {
    const page = await openReady(LESSON);
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator(`${WIDGET} button[data-export=csv]`).click()]);
    const csv = readFileSync((await download.path())!, 'utf8')
      .trim()
      .split('\r\n');
    expect(csv[0]).toBe('layer,query,key,visible,why');
    const rows = csv.slice(1).map((l) => l.split(','));
    expect(rows).toHaveLength((28 * 29) / 2); // every causal pair
    expect(rows.filter((r) => r[3] === 'true')).toHaveLength(expectedSwa(4, 24, 6));
    // The last query (27) sees the 4 meta tokens and keys 21..27.
    const last = rows.filter((r) => r[1] === '27' && r[3] === 'true').map((r) => Number(r[2]));
    expect(last).toEqual([0, 1, 2, 3, 21, 22, 23, 24, 25, 26, 27]);
    await page.close();
  });

  it('lets a teacher hide controls, and fits a 375 px phone screen', async () => {
    const page = await openReady(LESSON);
    await page.setViewportSize({ width: 375, height: 700 });
    await page.$eval(WIDGET, (el) => el.setAttribute('hide', 'window, export'));
    await page.waitForFunction((tag) => !document.querySelector(tag)!.shadowRoot!.querySelector('input[name=window]'), WIDGET);
    expect(await page.locator(`${WIDGET} button[data-export]`).count()).toBe(0);
    expect(await page.locator(`${WIDGET} input[name=tokens]`).count()).toBe(1); // only what was named is hidden
    await waitForStatus(page, WIDGET, 'ready');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await page.close();
  });

  it('made no console errors and no request off the site', () => {
    expect(site.consoleErrors).toEqual([]);
    expect(site.offOriginRequests).toEqual([]);
  });
});
