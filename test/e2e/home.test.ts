// The home page lists every lesson file in lessons/, and every link opens that lesson.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../paths.ts';
import { openSite, screenshot, waitForStatus, type Site } from './harness.ts';

/** Title from each lesson's frontmatter, read straight from the files (not through Astro). */
function lessonTitles(): string[] {
  const dir = path.join(repoRoot, 'lessons');
  return readdirSync(dir)
    .filter((f) => /\.mdx?$/.test(f))
    .map((f) => {
      const text = readFileSync(path.join(dir, f), 'utf8');
      const line = /^---\n[\s\S]*?^title:\s*(.+)$/m.exec(text)?.[1];
      if (!line) throw new Error(`lessons/${f} has no title in its frontmatter`);
      return line.trim().replace(/^(['"])(.*)\1$/, '$2');
    });
}

let site: Site;
beforeAll(async () => {
  site = await openSite();
});
afterAll(async () => {
  await site?.close();
});

describe('home page', () => {
  it('names Hymba and links every lesson in lessons/, each link opening that lesson', async () => {
    const titles = lessonTitles();
    expect(titles.length).toBeGreaterThan(0);

    const page = await site.open('/');
    expect(await page.locator('h1').textContent()).toContain('Hymba Lab');
    const links = await page.$$eval('a[href^="/lessons/"]', (as) =>
      as.map((a) => ({ href: a.getAttribute('href')!, text: a.textContent!.trim() })),
    );
    expect(links.map((l) => l.text).sort()).toEqual([...titles].sort());

    for (const link of links) {
      const response = await page.goto(site.origin + link.href);
      expect(response?.status(), link.href).toBe(200);
      expect(await page.locator('article h1').textContent()).toBe(link.text);
    }
    expect(site.offOriginRequests).toEqual([]);
  });

  it('fits a 375 px phone screen without sideways scrolling (dark mode)', async () => {
    const page = await site.context.newPage();
    await page.setViewportSize({ width: 375, height: 700 });
    await page.emulateMedia({ colorScheme: 'dark' });
    for (const pagePath of ['/', '/lessons/00-welcome/']) {
      await page.goto(site.origin + pagePath);
      if (pagePath !== '/') await waitForStatus(page, 'hymba-rmsnorm-demo', 'ready');
      const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(scrollWidth, pagePath).toBeLessThanOrEqual(375);
    }
    const background = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    expect(background).toBe('rgb(21, 24, 28)'); // --hl-bg in dark mode
    await screenshot(page, 'welcome-lesson-375-dark');
  });

  it('serves the 404 page for an unknown path', async () => {
    const page = await site.context.newPage();
    const response = await page.goto(site.origin + '/no/such/page/');
    expect(response?.status()).toBe(404);
    expect(await page.locator('h1').textContent()).toBe('Not found');
  });
});
