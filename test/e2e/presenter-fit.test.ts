// Presenter slides fit the screen: at 1280×720 and 1024×768, for every slide of every lesson, what the slide draws
// lies inside the window above the slide bar (a figure is scaled to fit, never cut), and nothing scrolls sideways.
// Once a figure has its results (lesson 3's mask view), it still fits, and its text is larger than on the lesson page.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openSite, waitForStatus, type Site } from './harness.ts';
import { repoRoot } from '../paths.ts';

const LESSONS = readdirSync(path.join(repoRoot, 'lessons'))
  .filter((f) => f.endsWith('.mdx'))
  .map((f) => f.replace(/\.mdx$/, ''))
  .sort();
const SCREENS = [
  { width: 1280, height: 720 },
  { width: 1024, height: 768 },
] as const;
const visibleSlide = '.slide:not([hidden])';

let site: Site;
beforeAll(async () => {
  site = await openSite();
});
afterAll(async () => {
  await site?.close();
});

interface Fit {
  slide: string;
  /** Lowest drawn pixel of the slide's content, and the room above the bar. */
  bottom: number;
  room: number;
  top: number;
  pageWidth: number;
  viewport: number;
}

/** Where the shown slide's content ends against the room the window leaves above the bar. */
function measureSlide(page: Page): Promise<Fit> {
  return page.evaluate((sel) => {
    const slide = document.querySelector<HTMLElement>(sel)!;
    const bar = document.querySelector<HTMLElement>('.presenter .bar')!;
    const rects = [...slide.children].filter((c) => c.getClientRects().length > 0).map((c) => c.getBoundingClientRect());
    return {
      slide: document.querySelector('.counter')?.textContent ?? '',
      bottom: Math.max(...rects.map((r) => r.bottom)),
      top: Math.min(...rects.map((r) => r.top)),
      room: window.innerHeight - bar.getBoundingClientRect().height,
      pageWidth: document.documentElement.scrollWidth,
      viewport: window.innerWidth,
    };
  }, visibleSlide);
}

/** How the shown slide leaves the window, if it does. */
function overrun(fit: Fit): string[] {
  const out: string[] = [];
  if (fit.top < 0) out.push(`starts ${-fit.top} px above the window`);
  if (fit.bottom > fit.room + 1) out.push(`runs ${Math.round(fit.bottom - fit.room)} px under the bar`);
  if (fit.pageWidth > fit.viewport) out.push(`is ${fit.pageWidth - fit.viewport} px too wide`);
  return out;
}

/** Rendered size (px on screen, after any zoom) of the first heat-map axis label in the shown slide or page. */
function tickPx(page: Page, scope: string): Promise<number> {
  return page.evaluate((scope) => {
    const map = document.querySelector(`${scope} hymba-mask-view`)!.shadowRoot!.querySelector('hl-heatmap')!;
    const tick = map.shadowRoot!.querySelector<HTMLElement>('.yticks span')!;
    return tick.getBoundingClientRect().height;
  }, scope);
}

describe('presenter slides fit the screen', () => {
  it.each(LESSONS)('%s: every slide inside the window at 1280×720 and 1024×768', async (lesson) => {
    for (const screen of SCREENS) {
      const page = await site.context.newPage();
      await page.setViewportSize(screen);
      await page.goto(`${site.origin}/present/${lesson}/#1`);
      await page.waitForSelector('.counter:has-text("1 /")');
      const count = Number((await page.locator('.counter').textContent())!.split('/')[1]);
      for (let i = 1; i <= count; i++) {
        if (i > 1) await page.keyboard.press('ArrowRight');
        await page.waitForSelector(`.counter:has-text("${i} /")`);
        const where = `${lesson} slide ${i} at ${screen.width}×${screen.height}`;
        // The refit runs in the frame after a figure changes size; a computing figure may grow at any moment.
        await expect.poll(async () => overrun(await measureSlide(page)), { message: `${where} does not fit`, timeout: 3000 }).toEqual([]);
      }
      await page.close();
    }
  });

  it('a figure with its results still fits, and its text is larger than on the lesson page', async () => {
    const lessonPage = await site.open('/lessons/03-sliding-windows/');
    await lessonPage.setViewportSize({ width: 1280, height: 720 });
    await lessonPage.locator('hymba-mask-view').scrollIntoViewIfNeeded();
    await waitForStatus(lessonPage, 'hymba-mask-view', 'ready');
    const onPage = await tickPx(lessonPage, 'main');
    await lessonPage.close();

    const page = await site.context.newPage();
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.goto(`${site.origin}/present/03-sliding-windows/#2`);
    await waitForStatus(page, `${visibleSlide} hymba-mask-view`, 'ready');
    await page.waitForTimeout(400);
    await expect.poll(async () => overrun(await measureSlide(page)), { timeout: 3000 }).toEqual([]);
    expect(await tickPx(page, visibleSlide)).toBeGreaterThan(onPage);
    // The notes panel takes room from the figure, which shrinks to keep the slide inside the window.
    await page.keyboard.press('n');
    await page.waitForTimeout(400);
    await expect.poll(async () => overrun(await measureSlide(page)), { timeout: 3000 }).toEqual([]);
    await page.close();
  });

  it('made no console errors', () => {
    expect(site.consoleErrors).toEqual([]);
  });
});
