// Offline: a reader who opened a lesson once can reload it, and open the other lessons, with the server gone. The
// service worker (/sw.js) precaches the site at install and keeps what was loaded; nothing is requested off the
// site's origin (fonts, code, models all come from it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { waitForStatus } from './harness.ts';
import { launch, serveSite, type Browser, type Served } from './embed-support.ts';

let site: Served;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  site = await serveSite();
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
  await site?.stop();
});

async function widgetsReady(p: Page, tag: string): Promise<void> {
  await p.locator(tag).scrollIntoViewIfNeeded();
  await waitForStatus(p, tag, 'ready');
}

describe('offline', () => {
  it('online: the lesson loads and the service worker takes control', async () => {
    page = await browser.context.newPage();
    await page.goto(`${site.origin}/lessons/04-the-cache/?meter.tokens=300`);
    await widgetsReady(page, 'hymba-cache-meter');
    // Installed (precache done) and controlling this page.
    await page.evaluate(() => navigator.serviceWorker.ready);
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 15_000 });
    // The first load's model fetches happened before the worker controlled the page; the next visit's go through it
    // and are kept (weights are cached as a reader loads them, not precached).
    await page.reload();
    await widgetsReady(page, 'hymba-cache-meter');
  });

  it('with the server stopped, the lesson reloads and its widget computes', async () => {
    await site.stop();
    const dead = await fetch(`${site.origin}/`).then(
      () => 'answered',
      () => 'refused',
    );
    expect(dead).toBe('refused');
    await page.reload();
    await widgetsReady(page, 'hymba-cache-meter');
    expect(await page.$eval('hymba-cache-meter', (el) => el.tokens)).toBe(300); // the URL state survives too
  });

  it('other lessons open offline too (precached at install)', async () => {
    await page.goto(`${site.origin}/lessons/03-sliding-windows/`);
    await widgetsReady(page, 'hymba-mask-view');
    await page.goto(`${site.origin}/lessons/00-welcome/`);
    await widgetsReady(page, 'hymba-rmsnorm-demo');
  });

  it("a page that was never cached shows the site's 404 page, not the browser's error", async () => {
    const url = `${site.origin}/lessons/no-such-lesson/`;
    const response = await page.goto(url);
    expect(response?.status()).toBe(404);
    // Chromium logs a 404 document as a console error: that one is this test's, not a fault of the page.
    const logged = browser.errors.indexOf(`${url}: Failed to load resource: the server responded with a status of 404 (Not Found)`);
    expect(logged).toBeGreaterThanOrEqual(0);
    browser.errors.splice(logged, 1);
    await expect(page.locator('h1').textContent()).resolves.toBe('Not found');
    expect(await page.locator('a[href="/"]').count()).toBeGreaterThan(0);
  });

  it('no request left the site', () => {
    expect(browser.requests.filter((u) => !u.startsWith(site.origin) && !/^(data|blob|about|chrome-extension):/.test(u))).toEqual([]);
    expect(browser.errors).toEqual([]);
  });
});
