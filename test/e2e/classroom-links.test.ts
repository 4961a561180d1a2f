// Classroom links and numbering: handouts link to wherever the site is served (no baked origin), the home page
// leads to the teacher's page and the widget reference, every page shows a lesson with the number of its URL
// (03-… is lesson 3), and → keeps stepping the presenter after a click on its Notes button.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distDir } from './harness.ts';
import { launch, serveSite, type Browser, type Served } from './embed-support.ts';

let site: Served;
let browser: Browser;

const slugs = readdirSync(path.join(distDir, 'lessons'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();
const numberOf = (slug: string) => Number(/^(\d+)-/.exec(slug)![1]);

beforeAll(async () => {
  site = await serveSite();
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
  await site?.stop();
});

describe('classroom links and lesson numbers', () => {
  it('handouts link relative to the site, shown with the origin they are served from', async () => {
    for (const slug of slugs) {
      const html = readFileSync(path.join(distDir, 'teach', slug, 'handout', 'index.html'), 'utf8');
      expect(html, slug).not.toMatch(/https?:\/\/localhost/);
    }
    const page = await browser.context.newPage();
    await page.goto(`${site.origin}/teach/04-the-cache/handout/`);
    const links = await page.$$eval('a.site-link', (as) => as.map((a) => [a.getAttribute('href')!, a.textContent!.trim()]));
    expect(links.length).toBeGreaterThan(1);
    for (const [href, text] of links) {
      expect(href.startsWith('/')).toBe(true);
      expect(text).toBe(site.origin + href);
    }
    await page.close();
  });

  it('the home page links to the teacher page and the widget reference', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${site.origin}/`);
    for (const href of ['/teach/', '/widgets/']) {
      expect(await page.locator(`main a[href="${href}"], a[href="${href}"]`).count(), href).toBeGreaterThan(0);
      const response = await page.request.get(site.origin + href);
      expect(response.status(), href).toBe(200);
    }
    await page.close();
  });

  it('shows each lesson with the number of its URL on home, lesson, prev/next, presenter, teach and handout', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${site.origin}/`);
    const home = await page.$$eval('.lesson-list li', (lis) =>
      lis.map((li) => [li.querySelector('a')!.getAttribute('href')!, li.querySelector('.lesson-number')!.textContent!.trim()]),
    );
    expect(home).toHaveLength(slugs.length);
    for (const [href, n] of home) expect(n, href).toBe(String(numberOf(href.split('/')[2])));

    await page.goto(`${site.origin}/teach/`);
    const teach = await page.$$eval('section.lesson', (ss) =>
      ss.map((s) => [s.getAttribute('data-lesson')!, s.querySelector('h2')!.textContent!]),
    );
    for (const [slug, h2] of teach) expect(h2.startsWith(`Lesson ${numberOf(slug)}: `), h2).toBe(true);

    for (const slug of slugs) {
      const n = numberOf(slug);
      await page.goto(`${site.origin}/lessons/${slug}/`);
      expect(await page.locator('article .lesson-number').textContent()).toBe(`Lesson ${n}`);
      for (const rel of ['prev', 'next']) {
        const link = page.locator(`a[rel=${rel}]`);
        if (!(await link.count())) continue;
        const target = (await link.getAttribute('href'))!.split('/')[2];
        expect(await link.textContent()).toContain(`Lesson ${numberOf(target)}: `);
      }
      await page.goto(`${site.origin}/present/${slug}/`);
      expect(await page.locator('.title-slide .lesson-number').textContent()).toBe(`Lesson ${n}`);
      await page.goto(`${site.origin}/teach/${slug}/handout/`);
      expect((await page.locator('h1').textContent())!.startsWith(`Lesson ${n}: `)).toBe(true);
    }
    await page.close();
  });

  it('→ keeps stepping the presenter after a click on Notes', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${site.origin}/present/04-the-cache/`);
    await page.waitForSelector('.counter:has-text("1 /")');
    await page.locator('button[data-go=notes]').click();
    await page.keyboard.press('ArrowRight');
    await page.waitForSelector('.counter:has-text("2 /")');
    expect(new URL(page.url()).hash).toBe('#2');
    await page.keyboard.press('ArrowLeft');
    await page.waitForSelector('.counter:has-text("1 /")');
    await page.close();
  });
});
