// Figures and pages people can read: at 375 px and 1280 px no lesson page is wider than the viewport and no table
// cell breaks inside a word or token; every heat map drawn has titled axes and a colour legend naming what it
// measures. Also writes a screenshot of every lesson at both widths, light and dark, to test-results/screenshots/.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openSite, waitForStatus, type Site } from './harness.ts';
import { repoRoot } from '../paths.ts';

const LESSONS = readdirSync(path.join(repoRoot, 'lessons'))
  .filter((f) => f.endsWith('.mdx'))
  .map((f) => `/lessons/${f.replace(/\.mdx$/, '')}/`)
  .sort();
const WIDTHS = [375, 1280] as const;

let site: Site;

beforeAll(async () => {
  site = await openSite();
});
afterAll(async () => {
  await site?.close();
});

interface Layout {
  pageWidth: number;
  viewport: number;
  /** Table cells (in the page or any widget's shadow root) with a word drawn on more than one line. */
  brokenWords: string[];
}

/** Page width and mid-word breaks in table cells, looking through every open shadow root. */
function measure(page: Page): Promise<Layout> {
  return page.evaluate(() => {
    const cells: Element[] = [];
    const walk = (root: Document | ShadowRoot) => {
      for (const el of root.querySelectorAll('*')) {
        if (el.tagName === 'TD' || el.tagName === 'TH') cells.push(el);
        if (el.shadowRoot) walk(el.shadowRoot);
      }
    };
    walk(document);
    const brokenWords: string[] = [];
    for (const cell of cells) {
      if (cell.getClientRects().length === 0) continue; // inside a closed <details>: not drawn
      const texts = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
      for (let node = texts.nextNode(); node; node = texts.nextNode()) {
        const text = node.textContent ?? '';
        for (const m of text.matchAll(/\S+/g)) {
          const range = document.createRange();
          range.setStart(node, m.index);
          range.setEnd(node, m.index + m[0].length);
          const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
          if (tops.size > 1) brokenWords.push(m[0]);
        }
      }
    }
    return { pageWidth: document.documentElement.scrollWidth, viewport: window.innerWidth, brokenWords };
  });
}

describe('every lesson page at 375 px and 1280 px', () => {
  it.each(LESSONS)('%s: no horizontal overflow, no mid-word breaks in tables; screenshots light and dark', async (lesson) => {
    const page = await site.open(lesson);
    const name = lesson.split('/').filter(Boolean).pop()!;
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      for (const colorScheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme });
        await page.waitForTimeout(300); // let Lit re-render at the new width
        const layout = await measure(page);
        expect(layout.pageWidth, `${lesson} at ${width} px (${colorScheme}) is wider than the viewport`).toBeLessThanOrEqual(
          layout.viewport,
        );
        expect(layout.brokenWords, `${lesson} at ${width} px: table words broken across lines`).toEqual([]);
        await page.screenshot({
          path: path.join(repoRoot, 'test-results', 'screenshots', `${name}-${width}-${colorScheme}.png`),
          fullPage: true,
        });
      }
    }
    await page.close();
  });
});

describe('heat maps', () => {
  it('the mask view heat map has titled axes, token labels on both axes, a legend with units, and names tokens on hover', async () => {
    const page = await site.open('/lessons/03-sliding-windows/');
    await page.locator('hymba-mask-view').scrollIntoViewIfNeeded();
    await waitForStatus(page, 'hymba-mask-view', 'ready');
    const map = page.locator('hymba-mask-view hl-heatmap').first();
    await expect.poll(() => map.locator('.legend').count()).toBe(1);
    expect(await map.locator('.ytitle').textContent()).toContain('query');
    expect(await map.locator('.xtitle').textContent()).toContain('key');
    expect(await map.locator('.legend').textContent()).toContain('query sees key?');
    expect(await map.locator('.legend').textContent()).toContain('inside the window');
    expect(await map.locator('.yticks span').first().textContent()).toMatch(/^(M0|t0)$/);
    expect(await map.locator('.xticks span').count()).toBeGreaterThan(1);
    // Hover the bottom-left cell: the readout names the last query and the first key by name, not only position.
    const box = (await map.locator('canvas').boundingBox())!;
    await page.mouse.move(box.x + 2, box.y + box.height - 2);
    await expect.poll(() => map.locator('.readout').textContent()).toMatch(/query \d+ “t\d+”, key 0 “(M0|t0)”/);
    // Every heat map on the page, not only this one, carries axis titles and a legend.
    const all = await page.evaluate(() => {
      const maps: Element[] = [];
      const walk = (root: Document | ShadowRoot) => {
        for (const el of root.querySelectorAll('*')) {
          if (el.tagName === 'HL-HEATMAP') maps.push(el);
          if (el.shadowRoot) walk(el.shadowRoot);
        }
      };
      walk(document);
      return maps.map((m) => ({
        x: m.shadowRoot?.querySelector('.xtitle')?.textContent ?? '',
        y: m.shadowRoot?.querySelector('.ytitle')?.textContent ?? '',
        legend: m.shadowRoot?.querySelector('.legend')?.textContent ?? '',
      }));
    });
    expect(all.length).toBeGreaterThan(0);
    for (const m of all) {
      expect(m.x.trim()).not.toBe('');
      expect(m.y.trim()).not.toBe('');
      expect(m.legend).toMatch(/\S+:/);
    }
    await page.close();
  });
});
