// Classroom: presenter mode (one figure per slide, keys and clicker keys, speaker notes in a panel and in a second
// window that follows), the teacher's page (every lesson, its figures as links that open just that widget), and
// the printable handout (the lesson's "Try this" questions, print CSS without the site chrome).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForStatus } from './harness.ts';
import { repoRoot } from '../paths.ts';
import { launch, serveSite, type Browser, type Served } from './embed-support.ts';

let site: Served;
let browser: Browser;
const LESSON = '04-the-cache';
const source = readFileSync(path.join(repoRoot, 'lessons', `${LESSON}.mdx`), 'utf8');

beforeAll(async () => {
  site = await serveSite();
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
  await site?.stop();
});

const visibleSlide = `.slide:not([hidden])`;

describe('presenter mode', () => {
  it('steps through title → figure → closing slide with arrows and clicker keys', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${site.origin}/present/${LESSON}/`);
    await page.waitForSelector('.counter:has-text("1 /")');
    expect(await page.locator(`${visibleSlide} h1`).textContent()).toBe(/^title: '(.*)'$/m.exec(source)![1]);
    const fontPx = await page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize));
    expect(fontPx).toBeGreaterThanOrEqual(20); // large type

    await page.keyboard.press('ArrowRight');
    await waitForStatus(page, `${visibleSlide} hymba-cache-meter`, 'ready');
    expect(new URL(page.url()).hash).toBe('#2');
    // The notes are the prose before the figure, hidden until N.
    const notes = page.locator(`${visibleSlide} .notes`);
    expect(await notes.isVisible()).toBe(false);
    await page.keyboard.press('n');
    expect(await notes.isVisible()).toBe(true);
    const firstParagraph = source.split('---')[2].trim().split('\n\n')[0].split('\n')[0].slice(0, 40);
    expect(await notes.textContent()).toContain(firstParagraph);

    await page.keyboard.press('PageDown'); // a clicker's "next"
    expect(await page.locator(`${visibleSlide} h2`).allTextContents()).toContain('Try this');
    await page.keyboard.press('PageUp');
    expect(await page.locator(`${visibleSlide} hymba-cache-meter`).count()).toBe(1);
    // Arrow keys inside a widget's control stay with the control.
    await page.locator(`${visibleSlide} hymba-cache-meter select[name=windowRule]`).focus();
    await page.keyboard.press('ArrowRight');
    expect(new URL(page.url()).hash).toBe('#2');
    await page.close();
  });

  it('a notes window follows the presenter', async () => {
    const presenter = await browser.context.newPage();
    await presenter.goto(`${site.origin}/present/${LESSON}/#1`);
    await presenter.waitForSelector('.counter:has-text("1 /")');
    const [notes] = await Promise.all([browser.context.waitForEvent('page'), presenter.keyboard.press('s')]);
    await notes.waitForSelector('.counter:has-text("1 /")');
    await presenter.keyboard.press('ArrowRight');
    await notes.waitForSelector('.counter:has-text("2 /")');
    expect(await notes.locator(`${visibleSlide} .notes`).isVisible()).toBe(true);
    expect(await notes.locator(`${visibleSlide} hymba-cache-meter`).isVisible()).toBe(false);
    await notes.close();
    await presenter.close();
  });
});

describe("the teacher's page and handouts", () => {
  it('lists every lesson with its presenter, handout and figure links that open one widget', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${site.origin}/teach/`);
    const lessons = await page.locator('section.lesson').evaluateAll((s) => s.map((e) => (e as HTMLElement).dataset.lesson));
    const files = ['00-welcome', '01-forward-pass', '02-meta-tokens', '03-sliding-windows', LESSON];
    for (const f of files) expect(lessons).toContain(f);
    const open = page.locator(`section[data-lesson="${LESSON}"] a.open`).first();
    const href = await open.getAttribute('href');
    expect(href).toMatch(/^\/embed\/hymba-cache-meter\/\?/);
    expect(href).toContain('tokens=200'); // the lesson's attribute
    await open.click();
    await waitForStatus(page, 'hymba-cache-meter', 'ready');
    expect(await page.$eval('hymba-cache-meter', (el) => el.tokens)).toBe(200);
    await page.close();
  });

  it("prints a handout with the lesson's Try-this questions and no site chrome", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${site.origin}/teach/${LESSON}/handout/`);
    const tryThis = source.split(/^## Try this$/m)[1];
    const expected = (tryThis.match(/^- /gm) ?? tryThis.match(/^\d+\. /gm) ?? []).length;
    expect(expected).toBeGreaterThan(0);
    expect(await page.locator('ol.questions > li').count()).toBe(expected);
    expect(await page.locator('ol.questions').textContent()).toContain('Generate past the window');
    await page.emulateMedia({ media: 'print' });
    expect(await page.locator('.site-header').isVisible()).toBe(false);
    expect(await page.locator('button.print').isVisible()).toBe(false);
    await page.close();
  });

  it('made no console errors', () => {
    expect(browser.errors).toEqual([]);
  });
});
