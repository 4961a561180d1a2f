// Widget settings from any source go through each widget's one schema: out-of-range values are clamped with a
// visible note, the iframe route passes only declared settings, and any attribute value at all (huge, negative, NaN,
// markup, unknown names) leaves every widget in `ready` or `error` within its time budget, never stuck, never with an
// uncaught exception, and with the page's JS heap bounded (sampled by CDP while the widget works).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CDPSession, Page } from 'playwright-core';
import { openSite, waitForStatus, type Site } from './harness.ts';

interface ManifestWidget {
  tag: string;
  attributes: string[];
}

/** Every widget and its attributes, as custom-elements.json (the /widgets/ page's source) lists them. */
function manifestWidgets(): ManifestWidget[] {
  const manifest = JSON.parse(readFileSync(path.join(import.meta.dirname, '../../custom-elements.json'), 'utf8')) as {
    modules: { declarations?: { tagName?: string; attributes?: { name: string }[] }[] }[];
  };
  return manifest.modules
    .flatMap((m) => m.declarations ?? [])
    .filter((d) => d.tagName?.startsWith('hymba-'))
    .map((d) => ({ tag: d.tagName!, attributes: (d.attributes ?? []).map((a) => a.name).filter((a) => a !== 'status') }));
}

/** How long one widget may take to settle with hostile settings (first runs compile WGSL on SwiftShader). */
const SETTLE_MS = 60_000;
/** The experiments that measure many sequences on several models: their schema caps the work, not to a minute. */
const SLOW_SETTLE_MS = 150_000;
const SLOW = new Set(['hymba-roadmap', 'hymba-head-importance', 'hymba-recall-lab']);
/**
 * Where each case starts: the heavy experiments as a teacher embeds a quick version (CPU reference engine, which is
 * the faster one for the tiny zoo on SwiftShader, few sequences). The random attributes then override any of these.
 */
const START: Record<string, Record<string, string>> = {
  'hymba-roadmap': { engine: 'cpu', sequences: '4', 'speed-ms': '0' },
  'hymba-head-importance': { engine: 'cpu', sequences: '2', tasks: 'mqar' },
  'hymba-recall-lab': { engine: 'cpu', sequences: '4', 'curve-sequences': '0' },
};
/** The page's JS heap may not pass this while a widget works (a widget that allocates by an unbounded setting does). */
const HEAP_LIMIT = 768 * 2 ** 20;

let site: Site;

beforeAll(async () => {
  site = await openSite();
});
/** What the fuzz cases ended in, per widget: printed at the end (docs/hostile-input.md counts from it). */
const outcomes: Record<string, { cases: number; ready: number; noted: number; error: number }> = {};
afterAll(async () => {
  await site?.close();
  for (const [tag, o] of Object.entries(outcomes))
    console.log(`fuzz <${tag}>: ${o.cases} cases, ${o.ready} ready (${o.noted} with a setting note), ${o.error} error`);
});

/** A site page with every widget defined (the embed bundle) and none on it yet. */
async function bare(): Promise<Page> {
  const page = await site.open('/widgets/');
  await page.addScriptTag({ url: '/embed/hymba-lab.js', type: 'module' });
  await page.waitForFunction(() => customElements.get('hymba-rmsnorm-demo') !== undefined);
  return page;
}

/** The page's JS heap in use, in bytes (V8, through the DevTools protocol). */
async function heapUsed(cdp: CDPSession): Promise<number> {
  return ((await cdp.send('Runtime.getHeapUsage')) as { usedSize: number }).usedSize;
}

/**
 * Put `<tag ...attrs>` on the page, wait until it settles (at most `timeout` ms); its final status, the text it
 * shows, and the most JS heap the page used meanwhile (sampled every 250 ms).
 */
async function settle(
  page: Page,
  tag: string,
  attrs: Record<string, string>,
  timeout = SETTLE_MS,
): Promise<{ status: string; text: string; shown: string; notes: number; peakHeap: number }> {
  const cdp = await page.context().newCDPSession(page);
  let peakHeap = await heapUsed(cdp);
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peakHeap = Math.max(peakHeap, await heapUsed(cdp).catch(() => 0));
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  try {
    return { ...(await settleStatus(page, tag, attrs, timeout)), peakHeap: Math.max(peakHeap, await heapUsed(cdp)) };
  } finally {
    sampling = false;
    await sampler;
    await cdp.detach();
  }
}

/** Its status, all its text, and the text it `shown` as its result or error (not the notes, not the code). */
async function settleStatus(
  page: Page,
  tag: string,
  attrs: Record<string, string>,
  timeout: number,
): Promise<{ status: string; text: string; shown: string; notes: number }> {
  await page.evaluate(
    ({ tag, attrs }) => {
      document.querySelectorAll('.fuzz').forEach((el) => el.remove());
      const el = document.createElement(tag);
      el.className = 'fuzz';
      for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
      document.body.prepend(el);
      el.scrollIntoView();
    },
    { tag, attrs },
  );
  const handle = await page.waitForFunction(
    () => {
      const el = document.querySelector('.fuzz');
      const status = el?.getAttribute('status');
      if (status !== 'ready' && status !== 'error') return false;
      // What the widget shows as its result or error: the setting notes quote the hostile text back and the code
      // panels hold source code, so not those.
      const shown = [...el!.shadowRoot!.childNodes]
        .map((n) => {
          const copy = n.cloneNode(true);
          if (!(copy instanceof Element)) return copy.textContent ?? '';
          if (copy.matches('.setting-note, .code-panel')) return '';
          copy.querySelectorAll('.setting-note, .code-panel').forEach((x) => x.remove());
          return copy.textContent ?? '';
        })
        .join('');
      const notes = el!.shadowRoot!.querySelectorAll('.setting-note').length;
      return { status, text: el!.shadowRoot!.textContent ?? '', shown, notes };
    },
    undefined,
    { timeout },
  );
  return (await handle.jsonValue()) as { status: string; text: string; shown: string; notes: number };
}

describe('settings are bounded by the schema', () => {
  it('clamps <hymba-mask-view tokens="100000"> to the schema and says so', async () => {
    const page = await bare();
    const result = await settle(page, 'hymba-mask-view', { preset: 'hymba-1.5b', tokens: '100000', layer: '99999' });
    expect(result.status).toBe('ready');
    expect(await page.$eval('.fuzz', (el) => (el as unknown as { tokens: number; layer: number }).tokens)).toBe(64);
    expect(result.text).toContain('tokens clamped to 64 (asked 100000)');
    expect(result.text).toContain('layer clamped to 1023 (asked 99999)');
    await page.close();
  });

  it('the URL is decoded through the same schema, with the same note', async () => {
    const page = await site.open('/lessons/03-sliding-windows/?mask.window=5000');
    await page.locator('#mask').scrollIntoViewIfNeeded();
    await waitForStatus(page, '#mask', 'ready');
    expect(await page.$eval('#mask', (el) => (el as unknown as { window: number }).window)).toBe(64);
    expect(await page.$eval('#mask', (el) => el.shadowRoot!.textContent)).toContain('window clamped to 64 (asked 5000)');
    await page.close();
  });

  it('the iframe route passes declared settings through the schema and drops everything else', async () => {
    const page = await site.open('/embed/hymba-rmsnorm-demo/?rows=4000&cols=4000&onclick=alert(1)');
    await waitForStatus(page, 'hymba-rmsnorm-demo', 'ready');
    const demo = await page.$eval('hymba-rmsnorm-demo', (el) => ({
      rows: (el as unknown as { rows: number }).rows,
      cols: (el as unknown as { cols: number }).cols,
      attrs: el.getAttributeNames(),
    }));
    // rows and cols are declared settings now: passed as attribute text, decoded and clamped, with the note.
    expect(demo).toEqual({ rows: 64, cols: 1024, attrs: ['rows', 'cols', 'status'] });
    const text = await page.$eval('hymba-rmsnorm-demo', (el) => el.shadowRoot!.textContent);
    expect(text).toContain('rows clamped to 64 (asked 4000)');
    expect(text).toContain('cols clamped to 1024 (asked 4000)');
    await page.close();

    const meter = await site.open('/embed/hymba-mask-view/?tokens=100000&bogus=1');
    await waitForStatus(meter, 'hymba-mask-view', 'ready');
    const el = await meter.$eval('hymba-mask-view', (el) => ({
      tokens: (el as unknown as { tokens: number }).tokens,
      bogus: el.hasAttribute('bogus'),
      text: el.shadowRoot!.textContent,
    }));
    expect(el.tokens).toBe(64);
    expect(el.bogus).toBe(false);
    expect(el.text).toContain('tokens clamped to 64 (asked 100000)');
    await meter.close();
  });
});

describe('any attribute value ends in ready or error', () => {
  const hostile = fc.oneof(
    fc.constantFrom('100000', '1e308', '-1', '-3', 'NaN', 'Infinity', '', '0x1f', 'no-such-model', '<img src=x onerror=alert(1)>'),
    fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }).map(String),
    fc.string({ maxLength: 12 }),
  );

  /** Random cases per widget; fast-check counts the two all-huge examples among a light widget's runs. */
  const RANDOM_RUNS = 3;
  for (const { tag, attributes } of manifestWidgets()) {
    const budget = SLOW.has(tag) ? SLOW_SETTLE_MS : SETTLE_MS;
    const runs = SLOW.has(tag) ? RANDOM_RUNS : RANDOM_RUNS + 2;
    it(
      `<${tag}> with random attributes`,
      async () => {
        const page = await bare();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(`${e.name}: ${e.message}`));
        const names = fc.constantFrom(...attributes, 'no-such-setting');
        // Huge, and large enough to allocate (4000 × 4000 floats is a real 64 MB array, 1e5 × 1e5 would just fail).
        const allAsked = (text: string) => Object.fromEntries(attributes.filter((a) => a !== 'hide').map((a) => [a, text]));
        await fc.assert(
          fc.asyncProperty(fc.dictionary(names, hostile, { minKeys: 1, maxKeys: 3 }), async (attrs) => {
            const { status, text, shown, notes, peakHeap } = await settle(page, tag, { ...START[tag], ...attrs }, budget);
            const o = (outcomes[tag] ??= { cases: 0, ready: 0, noted: 0, error: 0 });
            o.cases++;
            if (status === 'ready') o.ready++;
            else o.error++;
            if (status === 'ready' && notes > 0) o.noted++;
            expect(['ready', 'error']).toContain(status);
            if (status === 'error') expect(text).not.toMatch(/TypeError|undefined is not|Cannot read properties/);
            expect(shown, 'no NaN or Infinity shown as a result').not.toMatch(/\bNaN\b|Infinity/);
            expect(errors).toEqual([]);
            expect(peakHeap, `peak JS heap with ${JSON.stringify(attrs)}`).toBeLessThan(HEAP_LIMIT);
          }),
          // Plus the worst case on purpose: every setting asked huge at once (the heavy experiments excepted, whose
          // largest allowed work takes minutes on SwiftShader: their budget is the schema's limit, not this test's).
          { numRuns: runs, seed: 20, endOnFailure: true, examples: SLOW.has(tag) ? [] : [[allAsked('100000')], [allAsked('4000')]] },
        );
        await page.close();
      },
      runs * budget + 60_000,
    );
  }
});
