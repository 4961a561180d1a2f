// Embedding from another origin: one script tag on a foreign page registers every widget, widgets find their
// models next to the SCRIPT (not the host page), two bundles on one page do not clash, the host page is left
// alone, attribute text stays text, "Embed this" writes working code, the iframe route reports its height, and a
// strict CSP (script-src 'self', no unsafe-eval / unsafe-inline) is honoured by a self-hosted copy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { HymbaCacheMeter } from '../../site/widgets/hymba-cache-meter.ts';
import { WIDGET_READY_MS, waitForStatus } from './harness.ts';
import { hostHtml, launch, serveHost, serveSite, type Browser, type Served } from './embed-support.ts';

let site: Served;
let host: Served;
let browser: Browser;
const CSP = "script-src 'self'; object-src 'none'; base-uri 'none'";

beforeAll(async () => {
  site = await serveSite();
  const bundle = `${site.origin}/embed/hymba-lab.js`;
  host = await serveHost({
    '/course.html': {
      body: hostHtml(
        `<script type="module" src="${bundle}"></script>
         <hymba-cache-meter tokens="300"></hymba-cache-meter>
         <hymba-mask-view window="6" tokens="16"></hymba-mask-view>
         <hymba-rmsnorm-demo rows="2" cols="16"></hymba-rmsnorm-demo>
         <hymba-recall-lab model="sequential" pairs="16" sequences="2" curve-sequences="0" engine="cpu"></hymba-recall-lab>`,
      ),
    },
    '/two-bundles.html': {
      // The same bundle twice under two URLs: two module instances, as when two course blocks each add the script.
      body: hostHtml(
        `<script type="module" src="${bundle}"></script><script type="module" src="${bundle}?copy=2"></script>
         <hymba-cache-meter id="a" tokens="100"></hymba-cache-meter><hymba-cache-meter id="b" tokens="200"></hymba-cache-meter>`,
      ),
    },
    '/hostile.html': {
      body: hostHtml(
        `<script type="module" src="${bundle}"></script>
         <hymba-cache-meter preset="&lt;img src=x onerror=&quot;window.pwned=1&quot;&gt;"></hymba-cache-meter>`,
      ),
    },
    '/iframe.html': {
      body: hostHtml(
        `<iframe id="f" title="lab" style="width:100%;border:0" height="200"
           src="${site.origin}/embed/hymba-cache-meter/?tokens=1100&hide=export&window-rule=prefill&seq=abc&experiment=Past%20the%20window"></iframe>`,
      ),
    },
    '/csp.html': {
      headers: { 'Content-Security-Policy': CSP },
      body: hostHtml(
        `<script type="module" src="/embed/hymba-lab.js"></script>
         <hymba-cache-meter tokens="64"></hymba-cache-meter><hymba-rmsnorm-demo rows="2" cols="8"></hymba-rmsnorm-demo>`,
      ),
    },
  });
  browser = await launch();
  // Messages the iframe posts, and CSP violations, recorded from before any page script runs.
  await browser.context.addInitScript(() => {
    const w = window as unknown as { messages: unknown[]; violations: string[] };
    w.messages = [];
    w.violations = [];
    window.addEventListener('message', (e) => w.messages.push(e.data));
    document.addEventListener('securitypolicyviolation', (e) => w.violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
});

afterAll(async () => {
  await browser?.close();
  await site?.stop();
  await host?.stop();
});

async function open(path: string): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(host.origin + path);
  return page;
}

async function allReady(page: Page, selectors: string[]): Promise<void> {
  for (const s of selectors) {
    await page.locator(s).scrollIntoViewIfNeeded();
    await waitForStatus(page, s, 'ready');
  }
}

describe('embedding with one script tag', () => {
  it('serves the bundle and the models with CORS, and the bundle is one module with nothing to fetch', async () => {
    const res = await fetch(`${site.origin}/embed/hymba-lab.js`, { headers: { Origin: host.origin } });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const code = await res.text();
    // No static or dynamic imports of other files: the whole bundle is this one file. (An ES module's own imports
    // come first; code shown to readers in "Show code" panels further down may contain the word.)
    expect(code.slice(0, 4000)).not.toMatch(/^\s*import\s/m);
    expect(code).not.toMatch(/\bimport\(\s*["'`]/);
    const lesson = await fetch(`${site.origin}/lessons/00-welcome/`);
    expect(lesson.headers.get('access-control-allow-origin')).toBeNull(); // only /embed/ and /models/ are shared
  });

  it('runs widgets on a page of another origin, with assets resolved next to the script', async () => {
    const page = await open('/course.html');
    await allReady(page, ['hymba-cache-meter', 'hymba-mask-view', 'hymba-rmsnorm-demo', 'hymba-recall-lab']);
    expect(await page.$eval('hymba-cache-meter', (el) => el.shadowRoot!.querySelector('.hymba-mb')?.textContent)).toBe('78.60 MB');
    // The recall lab loaded the zoo model from the bundle's origin and answered 2 fresh sequences × 16 queries.
    expect(await page.$eval('hymba-recall-lab', (el) => el.results!.total)).toBe(32);
    // The engine controller looks for models on the bundle's origin, not the host's.
    const base = await page.evaluate(async () => (await window.__hymbaLab!.controller()).base);
    expect(base).toBe(`${site.origin}/`);
    // The host page is untouched: no style added to it, its text keeps its look.
    const hostStyle = await page.evaluate(() => ({
      sheets: document.styleSheets.length + document.adoptedStyleSheets.length,
      font: getComputedStyle(document.getElementById('host-text')!).fontFamily,
    }));
    expect(hostStyle.sheets).toBe(0);
    const plain = await browser.context.newPage();
    await plain.setContent(hostHtml(''));
    expect(await plain.evaluate(() => getComputedStyle(document.getElementById('host-text')!).fontFamily)).toBe(hostStyle.font);
    await plain.close();
    await page.close();
  });

  it('two copies of the bundle on one page do not throw, and both widgets work', async () => {
    const errorsBefore = browser.errors.length;
    const page = await open('/two-bundles.html');
    await allReady(page, ['#a', '#b']);
    expect(await page.$eval('#b', (el) => (el as HymbaCacheMeter).tokens)).toBe(200);
    expect(browser.errors.slice(errorsBefore)).toEqual([]);
    await page.close();
  });

  it('shows attribute values as text, never as HTML', async () => {
    const page = await open('/hostile.html');
    await page.waitForSelector('hymba-cache-meter[status=error], hymba-cache-meter[status=ready]');
    const result = await page.$eval('hymba-cache-meter', (el) => ({
      img: el.shadowRoot!.querySelectorAll('img').length,
      text: el.shadowRoot!.textContent ?? '',
      pwned: (window as unknown as { pwned?: number }).pwned,
    }));
    expect(result.img).toBe(0);
    expect(result.pwned).toBeUndefined();
    await page.close();
  });

  it('"Embed this" gives a script snippet and an iframe for the current settings', async () => {
    const page = await open('/course.html');
    await allReady(page, ['hymba-cache-meter']);
    await page.locator('hymba-cache-meter details.embed summary').click();
    const script = await page.locator('hymba-cache-meter textarea[name=embed-script]').inputValue();
    const iframe = await page.locator('hymba-cache-meter textarea[name=embed-iframe]').inputValue();
    expect(script).toBe(
      `<script type="module" src="${site.origin}/embed/hymba-lab.js"></script>\n<hymba-cache-meter tokens="300"></hymba-cache-meter>`,
    );
    expect(iframe).toContain(`src="${site.origin}/embed/hymba-cache-meter/?tokens=300"`);
    // The snippet follows the reader's changes.
    await page.locator('hymba-cache-meter select[name=windowRule]').selectOption('prefill');
    await expect.poll(() => page.locator('hymba-cache-meter textarea[name=embed-script]').inputValue()).toContain('window-rule="prefill"');
    await page.close();
  });
});

describe('the iframe route', () => {
  it('renders one widget from the query (through the URL codec) and posts its height', async () => {
    const page = await open('/iframe.html');
    const frame = page.frameLocator('#f');
    await frame.locator('hymba-cache-meter[status=ready]').waitFor({ timeout: WIDGET_READY_MS });
    const state = await frame.locator('hymba-cache-meter').evaluate((node) => {
      const el = node as HymbaCacheMeter;
      return {
        tokens: el.tokens,
        windowRule: el.windowRule,
        seq: el.seq, // "abc" is not a number: the codec gives the default
        exportButtons: el.shadowRoot!.querySelectorAll('[data-export]').length,
        heading: document.querySelector('.experiment')?.textContent,
      };
    });
    expect(state).toEqual({ tokens: 1100, windowRule: 'prefill', seq: 8000, exportButtons: 0, heading: 'Past the window' });
    const resize = await page.waitForFunction(() => {
      const msgs = (window as unknown as { messages: { type?: string; height?: number }[] }).messages.filter(
        (m) => m?.type === 'hymba-lab:resize',
      );
      const last = msgs.at(-1);
      return last && last.height! > 300 ? last : null;
    });
    expect(await resize.jsonValue()).toMatchObject({ type: 'hymba-lab:resize', widget: 'hymba-cache-meter' });
    const frameHeight = await frame.locator('body').evaluate((b) => Math.ceil(b.getBoundingClientRect().height));
    expect((await resize.jsonValue())!.height).toBe(frameHeight);
    await page.close();
  });
});

describe('a strict Content-Security-Policy', () => {
  it(`works under "${CSP}" with no violation`, async () => {
    const page = await open('/csp.html');
    await allReady(page, ['hymba-cache-meter', 'hymba-rmsnorm-demo']);
    expect(await page.evaluate(() => (window as unknown as { violations: string[] }).violations)).toEqual([]);
    await page.close();
  });

  it('made no console errors and no request outside the two origins', () => {
    expect(browser.errors).toEqual([]);
    const outside = browser.requests.filter(
      (u) => !u.startsWith(site.origin) && !u.startsWith(host.origin) && !/^(data|blob|about):/.test(u),
    );
    expect(outside).toEqual([]);
  });
});
