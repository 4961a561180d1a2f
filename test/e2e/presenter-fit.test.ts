// Presenter slides fit the screen: at 1280×720 and 1024×768, for every slide of every lesson, what the slide draws
// lies inside the window above the slide bar (a figure is scaled to fit, never cut), and nothing scrolls sideways.
// Once a figure has its results (lesson 3's mask view), it still fits; a figure with room is enlarged (lesson 0).
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

/** On-screen size (px, after SVG scaling and any zoom) of the rmsnorm demo's y-axis title's line, in `scope`. */
function axisTextPx(page: Page, scope: string): Promise<number> {
  return page.evaluate((scope) => {
    const demo = document.querySelector(`${scope} hymba-rmsnorm-demo`)!;
    const text = demo.shadowRoot!.querySelector<SVGTextElement>('[aria-label="y-axis label"] text')!;
    return text.getBoundingClientRect().height;
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

  it('a tall figure with its results still fits, also with the notes panel open', async () => {
    const page = await site.context.newPage();
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.goto(`${site.origin}/present/03-sliding-windows/#2`);
    await waitForStatus(page, `${visibleSlide} hymba-mask-view`, 'ready');
    await expect.poll(async () => overrun(await measureSlide(page)), { timeout: 3000 }).toEqual([]);
    // The notes panel takes room from the figure, which shrinks to keep the slide inside the window.
    await page.keyboard.press('n');
    await expect.poll(async () => overrun(await measureSlide(page)), { timeout: 3000 }).toEqual([]);
    await page.close();
  });

  it("a figure that has room is enlarged: lesson 0's chart text is larger on its slide than on the lesson page", async () => {
    const lessonPage = await site.context.newPage();
    await lessonPage.setViewportSize({ width: 1280, height: 720 });
    await lessonPage.goto(`${site.origin}/lessons/00-welcome/`);
    await lessonPage.locator('hymba-rmsnorm-demo').scrollIntoViewIfNeeded();
    await waitForStatus(lessonPage, 'hymba-rmsnorm-demo', 'ready');
    const onPage = await axisTextPx(lessonPage, 'main');
    await lessonPage.close();

    const page = await site.context.newPage();
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.goto(`${site.origin}/present/00-welcome/#2`);
    await waitForStatus(page, `${visibleSlide} hymba-rmsnorm-demo`, 'ready');
    await expect.poll(async () => overrun(await measureSlide(page)), { timeout: 3000 }).toEqual([]);
    expect(onPage).toBeGreaterThanOrEqual(12);
    expect(await axisTextPx(page, visibleSlide)).toBeGreaterThan(onPage * 1.2);
    await page.close();
  });

  it('made no console errors', () => {
    expect(site.consoleErrors).toEqual([]);
  });
});
