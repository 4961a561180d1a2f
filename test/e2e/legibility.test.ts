// Figures and pages people can read. At 375 px and 1280 px, light and dark, on every lesson page, /teach/ and
// /widgets/: no page is wider than the viewport and no table cell breaks inside a word or token; once every widget of
// a lesson has its results, every SVG text in a figure is at least 12 px on screen (computed size times the SVG's
// scale), every Observable Plot chart has a titled axis or a legend, and a legend colour means one thing on the page
// (one meaning per colour, one colour per meaning, and a meaning of the site palette in its palette colour). Every
// heat map drawn has titled axes and a colour legend naming what it measures. Writes a screenshot of every page at
// both widths, light and dark, to test-results/screenshots/.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openSite, waitForStatus, type Site } from './harness.ts';
import { repoRoot } from '../paths.ts';
import { MEANINGS, type Meaning } from '../../site/lib/base/palette.ts';

const LESSONS = readdirSync(path.join(repoRoot, 'lessons'))
  .filter((f) => f.endsWith('.mdx'))
  .map((f) => `/lessons/${f.replace(/\.mdx$/, '')}/`)
  .sort();
const PAGES = [...LESSONS, '/teach/', '/widgets/'];
const WIDTHS = [375, 1280] as const;
const screenshotDir = path.join(repoRoot, 'test-results', 'screenshots');
/** A screenshot's file name: the page's last path segment, its width and colour scheme. */
const shotName = (page: string, width: number, scheme: string) => `${page.split('/').filter(Boolean).pop()}-${width}-${scheme}.png`;

let site: Site;

beforeAll(async () => {
  // Start from a folder without this test's screenshots, so the coverage check below sees only this run's. (The
  // presenter slides' screenshots, presenter-*.png, are presenter-fit.test.ts's, which may run at the same time.)
  if (existsSync(screenshotDir))
    for (const f of readdirSync(screenshotDir))
      if (!f.startsWith('presenter-')) rmSync(path.join(screenshotDir, f), { recursive: true, force: true });
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

interface FigureReport {
  /** SVG texts drawn smaller than 12 px on screen: "widget: text (size px)". */
  smallText: string[];
  /** Observable Plot charts with neither a titled axis nor a legend. */
  unlabelled: string[];
  /** Legend entries: the colour as drawn (computed rgb) and what it stands for (a palette meaning or the label). */
  legend: { widget: string; colour: string; meaning: string; label: string }[];
}

/** Text sizes, chart labels and legend colours of every figure inside the page's widgets (through shadow roots). */
function inspectFigures(page: Page, paletteLabels: Record<string, string>): Promise<FigureReport> {
  return page.evaluate((paletteLabels) => {
    const report: FigureReport = { smallText: [], unlabelled: [], legend: [] };
    const widgets = [...document.querySelectorAll('*')].filter((e) => e.localName.startsWith('hymba-'));
    const within = (root: ShadowRoot, visit: (el: Element) => void) => {
      for (const el of root.querySelectorAll('*')) {
        visit(el);
        if (el.shadowRoot) within(el.shadowRoot, visit);
      }
    };
    const drawn = (el: Element) => el.getClientRects().length > 0 && el.checkVisibility({ visibilityProperty: true });
    const colourOf = (el: Element, prop: 'fill' | 'backgroundColor') => getComputedStyle(el)[prop];
    for (const w of widgets) {
      if (!w.shadowRoot) continue;
      within(w.shadowRoot, (el) => {
        if (el.localName === 'text' && el instanceof SVGTextElement && drawn(el) && el.textContent!.trim()) {
          const m = el.getScreenCTM();
          const scale = m ? Math.hypot(m.a, m.b) : 1;
          const px = parseFloat(getComputedStyle(el).fontSize) * scale;
          if (px < 11.95) report.smallText.push(`${w.localName}: "${el.textContent!.trim().slice(0, 30)}" (${px.toFixed(1)} px)`);
        }
        // An Observable Plot chart (not a legend's ramp): its <svg> carries the class Plot generated.
        if (el.localName === 'svg' && /^plot-[0-9a-f]+$/.test(el.getAttribute('class') ?? '') && drawn(el)) {
          const axisTitle = el.querySelector('[aria-label$="-axis label"] text');
          const figure = el.closest('figure');
          const legend = figure?.querySelector('[class$="-swatches"], [class$="-ramp"]');
          if (!axisTitle?.textContent?.trim() && !legend)
            report.unlabelled.push(`${w.localName}: ${el.getAttribute('aria-label') ?? 'chart'}`);
        }
        // Plot's swatch legend: <span class="plot-…-swatch"><svg fill=…><rect/></svg>label</span>.
        if (/-swatch$/.test(el.getAttribute('class') ?? '') && drawn(el)) {
          const rect = el.querySelector('rect');
          const label = el.textContent!.trim();
          if (rect)
            report.legend.push({ widget: w.localName, colour: colourOf(rect, 'fill'), meaning: paletteLabels[label] ?? label, label });
        }
        // The widgets' own legends and the heat maps': <span class="swatch" data-meaning=…>.
        if (el.classList.contains('swatch') && drawn(el)) {
          const label = el.parentElement?.textContent?.trim() ?? '';
          const meaning = el.getAttribute('data-meaning') ?? label;
          report.legend.push({ widget: w.localName, colour: colourOf(el, 'backgroundColor'), meaning, label });
        }
      });
    }
    return report;
  }, paletteLabels);
}

/** "#RRGGBB" as the browser computes it: "rgb(r, g, b)". */
const rgb = (hex: string) => {
  const n = parseInt(hex.slice(1), 16);
  return `rgb(${n >> 16}, ${(n >> 8) & 255}, ${n & 255})`;
};
const paletteLabels = Object.fromEntries(Object.entries(MEANINGS).map(([key, m]) => [m.label, key]));

/**
 * The experiments that take minutes on SwiftShader measure fewer sequences here: what their figures draw (axes,
 * labels, legends) does not depend on the sample size, only the numbers do.
 */
const LIGHTER: Record<string, Record<string, string>> = {
  'hymba-head-importance': { sequences: '4' },
  'hymba-roadmap': { sequences: '4', 'speed-ms': '0' },
};
const HEAVY_READY_MS = 240_000;

/** Scroll every widget of the page into view in turn (each computes only when visible) until all are ready. */
async function bringWidgetsToReady(page: Page): Promise<void> {
  const count = await page.evaluate((lighter) => {
    const widgets = [...document.querySelectorAll('*')].filter((e) => e.localName.startsWith('hymba-'));
    widgets.forEach((w, i) => {
      w.setAttribute('data-legibility', String(i));
      for (const [name, value] of Object.entries(lighter[w.localName] ?? {})) w.setAttribute(name, value);
    });
    return widgets.length;
  }, LIGHTER);
  for (let i = 0; i < count; i++) {
    const selector = `[data-legibility="${i}"]`;
    await page.locator(selector).scrollIntoViewIfNeeded();
    await waitForStatus(page, selector, 'ready', HEAVY_READY_MS);
  }
  // Predict-then-reveal blocks hide answers until a pick: pick, so the whole figure is checked.
  for (const block of await page.locator('hl-predict').all()) await block.locator('button[name=predict]').first().click();
}

describe('every page at 375 px and 1280 px, light and dark', () => {
  const cases = PAGES.flatMap((p) => WIDTHS.map((width) => [p, width] as const));
  it.each(cases)(
    '%s at %i px: no horizontal overflow or mid-word table breaks; figures legible; screenshots',
    async (pagePath, width) => {
      const page = await site.context.newPage();
      await page.setViewportSize({ width, height: 900 });
      await page.goto(site.origin + pagePath);
      const isLesson = pagePath.startsWith('/lessons/');
      // Lesson figures are checked with their results drawn; /widgets/ shows every widget and is checked for layout only.
      if (isLesson) await bringWidgetsToReady(page);
      for (const colorScheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme });
        await page.waitForTimeout(300); // let Lit re-render
        const where = `${pagePath} at ${width} px (${colorScheme})`;
        const layout = await measure(page);
        expect(layout.pageWidth, `${where} is wider than the viewport`).toBeLessThanOrEqual(layout.viewport);
        expect(layout.brokenWords, `${where}: table words broken across lines`).toEqual([]);
        if (isLesson) {
          const figures = await inspectFigures(page, paletteLabels);
          expect(figures.smallText, `${where}: figure text under 12 px`).toEqual([]);
          expect(figures.unlabelled, `${where}: charts without axis titles or a legend`).toEqual([]);
          const coloursOf = new Map<string, Set<string>>();
          const meaningsOf = new Map<string, Set<string>>();
          for (const e of figures.legend) {
            coloursOf.set(e.meaning, (coloursOf.get(e.meaning) ?? new Set()).add(e.colour));
            meaningsOf.set(e.colour, (meaningsOf.get(e.colour) ?? new Set()).add(e.meaning));
            if (e.meaning in MEANINGS)
              expect(e.colour, `${where}: "${e.label}" (${e.widget}) is not in its palette colour`).toBe(
                rgb(MEANINGS[e.meaning as Meaning].colour),
              );
          }
          for (const [colour, meanings] of meaningsOf)
            expect([...meanings], `${where}: ${colour} stands for more than one thing`).toHaveLength(1);
          for (const [meaning, colours] of coloursOf)
            expect([...colours], `${where}: "${meaning}" is drawn in more than one colour`).toHaveLength(1);
        }
        await page.screenshot({ path: path.join(screenshotDir, shotName(pagePath, width, colorScheme)), fullPage: true });
      }
      await page.close();
    },
    600_000,
  );

  it('saved a screenshot of every lesson, /teach/ and /widgets/ at both widths, light and dark', () => {
    expect(LESSONS.length).toBeGreaterThanOrEqual(9);
    const missing = PAGES.flatMap((p) => WIDTHS.flatMap((w) => (['light', 'dark'] as const).map((c) => shotName(p, w, c)))).filter(
      (f) => !existsSync(path.join(screenshotDir, f)),
    );
    expect(missing).toEqual([]);
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
