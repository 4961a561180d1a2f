// Presenter slides fit the screen: at 1280×720 and 1024×768, for every slide of every lesson, what the slide draws
// lies inside the window above the slide bar (a figure is scaled to fit, never cut), and nothing scrolls sideways.
// Once a figure has its results (lesson 3's mask view), it still fits; a figure with room is enlarged (lesson 0).
// And a slide shows its figure large: on every widget slide, with the widget's results drawn (and a prediction made,
// so hidden answers are drawn too), the smallest figure text on screen (font size × the SVG's scale × the slide's
// zoom) is at least 16 px at 1280×720 and 12 px at 1024×768, no part of the figure is cut (no text outside its
// chart, no scroll box hiding part of the widget). One screenshot per widget slide at 1280×720 goes to
// test-results/screenshots/presenter-<lesson>-<slide>.png.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
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
/** The smallest figure text a widget slide may draw, per screen (CSS px on screen). */
const MIN_FIGURE_PX: Record<string, number> = { '1280×720': 16, '1024×768': 12 };
const screenshotDir = path.join(repoRoot, 'test-results', 'screenshots');
/**
 * The experiments that take minutes on SwiftShader measure fewer sequences here (as in legibility.test.ts): what
 * their figures draw does not depend on the sample size, only the numbers do.
 */
const LIGHTER: Record<string, Record<string, string>> = {
  'hymba-head-importance': { sequences: '4' },
  'hymba-roadmap': { sequences: '4', 'speed-ms': '0' },
};
const HEAVY_READY_MS = 240_000;

let site: Site;
beforeAll(async () => {
  // Only this test's screenshots are replaced (legibility.test.ts writes the others to the same folder).
  mkdirSync(screenshotDir, { recursive: true });
  for (const f of readdirSync(screenshotDir)) if (f.startsWith('presenter-')) rmSync(path.join(screenshotDir, f));
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

interface FigureText {
  /** The slide's zoom on its figure. */
  zoom: number;
  /** The smallest figure text drawn: its size on screen (px) and where. */
  smallest: { px: number; where: string } | null;
  /** The smallest text of any kind the widgets draw: what counts on a slide whose widget draws no chart (a chat). */
  smallestAny: { px: number; where: string } | null;
  /** Parts of the figure that are cut: text outside its chart, a scroll box with hidden content. */
  cut: string[];
}

/**
 * The figure text of the shown slide's widgets, through their shadow roots: every SVG <text> (its computed size
 * times the on-screen scale of its box against its own units, which holds the SVG's viewBox scale and the slide's
 * CSS zoom) and the text of heat maps (computed size times the element's CSS zoom).
 */
function inspectFigureText(page: Page): Promise<FigureText> {
  return page.evaluate((sel) => {
    const slide = document.querySelector<HTMLElement>(sel)!;
    const figure = slide.querySelector<HTMLElement>('[data-widget-slide]')!;
    const out: FigureText = { zoom: parseFloat(figure.style.zoom || '1'), smallest: null, smallestAny: null, cut: [] };
    const note = (px: number, where: string) => {
      if (!out.smallest || px < out.smallest.px) out.smallest = { px, where };
    };
    const noteAny = (px: number, where: string) => {
      if (!out.smallestAny || px < out.smallestAny.px) out.smallestAny = { px, where };
    };
    const drawn = (el: Element) => el.getClientRects().length > 0 && el.checkVisibility({ visibilityProperty: true });
    const visit = (root: ShadowRoot, widget: string, inHeatmap: boolean) => {
      for (const el of root.querySelectorAll('*')) {
        if (el.shadowRoot) visit(el.shadowRoot, widget, inHeatmap || el.localName === 'hl-heatmap');
        if (!drawn(el)) continue;
        const text = el.textContent!.trim().slice(0, 30);
        if (el instanceof SVGTextElement && text) {
          const box = el.getBBox();
          const rect = el.getBoundingClientRect();
          if (box.height > 0) note((parseFloat(getComputedStyle(el).fontSize) * rect.height) / box.height, `${widget}: "${text}"`);
          // Text beyond an SVG's box is cut, unless the SVG lets it show (Plot's legends do).
          const owner = el.ownerSVGElement!;
          const svg = owner.getBoundingClientRect();
          if (
            getComputedStyle(owner).overflow !== 'visible' &&
            (rect.left < svg.left - 2 || rect.right > svg.right + 2 || rect.top < svg.top - 2 || rect.bottom > svg.bottom + 2)
          )
            out.cut.push(`${widget}: "${text}" runs out of its chart`);
        } else if ([...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent!.trim())) {
          const px = parseFloat(getComputedStyle(el).fontSize) * el.currentCSSZoom;
          if (inHeatmap) note(px, `${widget} heat map: "${text}"`);
          else if (el.clientWidth > 1) noteAny(px, `${widget}: "${text}"`);
        }
        // A scroll box (a wide table, a chart wider than its box) hides what does not fit; the visually-hidden
        // captions (1 px boxes) are for screen readers, not drawn.
        const style = getComputedStyle(el);
        const clips = /auto|scroll|hidden/.test(style.overflowX + style.overflowY);
        if (clips && el.clientWidth > 1 && (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1))
          out.cut.push(
            `${widget}: ${el.localName}.${[...el.classList].join('.')} hides ${el.scrollWidth - el.clientWidth} × ${el.scrollHeight - el.clientHeight} px`,
          );
      }
    };
    for (const w of [figure, ...figure.querySelectorAll('*')])
      if (w.localName.startsWith('hymba-') && w.shadowRoot) visit(w.shadowRoot, w.localName, false);
    return out;
  }, visibleSlide);
}

/** Bring the shown slide's widgets to `ready`, and make any prediction it asks for (so hidden answers are drawn). */
async function readySlide(page: Page): Promise<void> {
  const widgets = page.locator(`${visibleSlide} [status]`);
  for (let i = 0; i < (await widgets.count()); i++) {
    const id = await widgets.nth(i).evaluate((w, i) => (w.id ||= `presenter-widget-${i}`), i);
    await waitForStatus(page, `#${id}`, 'ready', HEAVY_READY_MS);
  }
  for (const block of await page.locator(`${visibleSlide} hl-predict`).all()) await block.locator('button[name=predict]').first().click();
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

  it.each(LESSONS)(
    '%s: every widget slide draws its figure large and whole at 1280×720 and 1024×768; screenshots',
    async (lesson) => {
      for (const screen of SCREENS) {
        const size = `${screen.width}×${screen.height}`;
        const page = await site.context.newPage();
        await page.setViewportSize(screen);
        await page.goto(`${site.origin}/present/${lesson}/#1`);
        await page.waitForSelector('.counter:has-text("1 /")');
        await page.evaluate((lighter) => {
          for (const w of document.querySelectorAll('*'))
            for (const [name, value] of Object.entries(lighter[w.localName] ?? {})) w.setAttribute(name, value);
        }, LIGHTER);
        const count = Number((await page.locator('.counter').textContent())!.split('/')[1]);
        for (let i = 1; i <= count; i++) {
          // PageDown steps even when a control (a prediction button) has the focus.
          if (i > 1) await page.keyboard.press('PageDown');
          await page.waitForSelector(`.counter:has-text("${i} /")`);
          if ((await page.locator(`${visibleSlide} [data-widget-slide]`).count()) === 0) continue;
          const where = `${lesson} slide ${i} at ${size}`;
          await readySlide(page);
          await expect.poll(async () => overrun(await measureSlide(page)), { message: `${where} does not fit`, timeout: 5000 }).toEqual([]);
          // A slide with no chart (a chat, a lab before its run) is held to the same size for all of its text.
          const problems = (t: FigureText) => {
            const smallest = t.smallest ?? t.smallestAny;
            const small =
              !smallest || smallest.px < MIN_FIGURE_PX[size] - 0.05
                ? [`smallest figure text ${smallest?.px.toFixed(1)} px (${smallest?.where}) at zoom ${t.zoom.toFixed(2)}`]
                : [];
            return [...small, ...t.cut];
          };
          // The refit runs a frame after the figure changes size: poll until it has settled.
          await expect
            .poll(async () => problems(await inspectFigureText(page)), { message: `${where}: figure too small or cut`, timeout: 5000 })
            .toEqual([]);
          if (screen.width === 1280) await page.screenshot({ path: path.join(screenshotDir, `presenter-${lesson}-${i}.png`) });
        }
        await page.close();
      }
    },
    900_000,
  );

  it('saved a screenshot of every widget slide at 1280×720', () => {
    const shots = readdirSync(screenshotDir).filter((f) => f.startsWith('presenter-'));
    for (const lesson of LESSONS)
      expect(
        shots.some((f) => f.startsWith(`presenter-${lesson}-`)),
        lesson,
      ).toBe(true);
  });

  it('made no console errors', () => {
    expect(site.consoleErrors).toEqual([]);
  });
});
