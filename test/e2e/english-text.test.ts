// A reader types English into lesson 1's English stepper (`#stepper-en`, en-hymba) and lesson 2's attention map
// (`#meta-map`, en-hymba vs en-parallel-swa-kv): the word pieces appear as the maps' row and column labels, after the
// meta-token columns and <s> (where an attention sink would be), the status reaches ready, the text round-trips
// through the URL, an unknown character gets a note, empty text a message (with the text box still there to fix it),
// on WebGPU (SwiftShader) and on the CPU tier (Chromium without WebGPU).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { assertWebGpuAdapter, openSite, WIDGET_READY_MS, type Site } from './harness.ts';
import { launch, NO_WEBGPU_ARGS, serveSite, type Browser, type Served } from './embed-support.ts';

const SENTENCE = 'The jury said it did find that the court was fair.';
/** Its word pieces under models/english-tokenizer (vocab 2,048), written out by hand from the tokenizer's output. */
const PIECES = ['<s>', '▁The', '▁j', 'ury', '▁said', '▁it', '▁did', '▁find', '▁that', '▁the', '▁cour', 't', '▁was', '▁f', 'air', '.'];
const META = ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']; // en-hymba has 8 meta tokens

const STEPPER = { lesson: '/lessons/01-forward-pass/', sel: '#stepper-en' };
const MAP = { lesson: '/lessons/02-meta-tokens/', sel: '#meta-map' };

/** Type `text` into the widget's text box and commit it (the box applies on change, as when the reader leaves it). */
async function type(page: Page, sel: string, text: string): Promise<void> {
  const box = page.locator(sel).locator('input[name=text]');
  await box.fill(text);
  await box.press('Tab');
}

/** Wait until the widget is ready with `text` tokenized (or, for a text it cannot read, showing why). */
async function settled(page: Page, sel: string, text: string): Promise<void> {
  const handle = await page.waitForFunction(
    ({ sel, text }) => {
      const el = document.querySelector(sel) as HTMLElement & { english: { text: string } | null; text: string };
      const status = el.getAttribute('status');
      if (status === 'error') return { error: el.shadowRoot!.textContent };
      const alert = el.shadowRoot!.querySelector('.prompt-error, .text-error');
      const done = el.text === text && status === 'ready' && (el.english?.text === text || alert !== null);
      return done ? { error: null } : false;
    },
    { sel, text },
    { timeout: WIDGET_READY_MS },
  );
  const { error } = (await handle.jsonValue()) as { error: string | null };
  if (error) throw new Error(`${sel} went to status=error: ${error}`);
}

/** Row and column labels of every heat-map the widget draws now, with its figure's run label. */
const maps = (page: Page, sel: string) =>
  page.$eval(sel, (el) =>
    [...el.shadowRoot!.querySelectorAll('hl-heatmap')].map((h) => {
      const m = h as HTMLElement & { rowNames: readonly string[]; colNames: readonly string[] };
      return { run: h.closest('figure')?.getAttribute('data-run') ?? null, rows: [...m.rowNames], cols: [...m.colNames] };
    }),
  );

const shadowText = (page: Page, sel: string, inner: string) =>
  page.$eval(sel, (el, inner) => el.shadowRoot!.querySelector(inner)?.textContent?.replace(/\s+/g, ' ').trim() ?? null, inner);

async function openWidget(open: (path: string) => Promise<Page>, w: { lesson: string; sel: string }, search = ''): Promise<Page> {
  const page = await open(w.lesson + search);
  await page.locator(w.sel).scrollIntoViewIfNeeded();
  await page.waitForFunction((sel) => document.querySelector(sel)?.getAttribute('status') === 'ready', w.sel, { timeout: WIDGET_READY_MS });
  return page;
}

/** Step the stepper to an op by name (its public navigation, as the Next button does). */
const stepTo = (page: Page, op: string) =>
  page.$eval(
    STEPPER.sel,
    async (el, op) => {
      const s = el as HTMLElement & { currentOp: string; next(): Promise<void>; step: number };
      for (let i = 0; i < 400 && s.currentOp !== op; i++) await s.next();
      return s.currentOp;
    },
    op,
  );

describe('English text on WebGPU', () => {
  let site: Site;
  beforeAll(async () => {
    site = await openSite();
  });
  afterAll(async () => {
    await site?.close();
  });

  it('lesson 1: a typed sentence runs through en-hymba, word pieces label the rows, and the text round-trips the URL', async () => {
    const page = await openWidget((p) => site.open(p), STEPPER);
    await assertWebGpuAdapter(page);
    await type(page, STEPPER.sel, SENTENCE);
    await settled(page, STEPPER.sel, SENTENCE);
    // The embedding: one row per meta token, then one per word piece.
    expect((await maps(page, STEPPER.sel))[0].rows).toEqual([...META, ...PIECES]);
    expect(await shadowText(page, STEPPER.sel, '.tokens')).toContain('8:<s> 9:▁The 10:▁j 11:ury 12:▁said');
    // Attention of layer 0: query rows and key columns are the tokens, meta columns and <s> first.
    expect(await stepTo(page, 'layers.0.attn.probs')).toBe('layers.0.attn.probs');
    const [probs] = await maps(page, STEPPER.sel);
    expect(probs.cols).toEqual([...META, ...PIECES]);
    expect(probs.rows).toEqual(probs.cols);
    // The logits: the model's next pieces after the last token.
    expect(await stepTo(page, 'logits')).toBe('logits');
    expect(await shadowText(page, STEPPER.sel, '.next-words')).toMatch(/^After “\.”, the model's most likely next pieces: .+%/);

    const url = new URL(page.url());
    expect(url.searchParams.get('stepper-en.text')).toBe(SENTENCE);
    const again = await openWidget((p) => site.open(p), STEPPER, url.search);
    await settled(again, STEPPER.sel, SENTENCE);
    expect(await again.$eval(STEPPER.sel, (el) => (el as HTMLElement & { text: string }).text)).toBe(SENTENCE);
    expect(await again.locator(STEPPER.sel).locator('input[name=text]').inputValue()).toBe(SENTENCE);
    // The step came back too: the logits, one row per word piece (meta tokens are not scored).
    expect(await again.$eval(STEPPER.sel, (el) => (el as HTMLElement & { currentOp: string }).currentOp)).toBe('logits');
    expect((await maps(again, STEPPER.sel))[0].rows).toEqual(PIECES);
    // The synthetic stepper above it keeps its MQAR prompt.
    expect(await again.$eval('#stepper', (el) => (el as HTMLElement & { model: string }).model)).toBe('hymba');
    await again.close();
    await page.close();
  });

  it('lesson 1: an unknown character becomes <unk> with a note; empty text says so and keeps the text box', async () => {
    const page = await openWidget((p) => site.open(p), STEPPER);
    await type(page, STEPPER.sel, 'Café noir.');
    await settled(page, STEPPER.sel, 'Café noir.');
    expect((await maps(page, STEPPER.sel))[0].rows).toContain('<unk>');
    expect(await shadowText(page, STEPPER.sel, '.unk-note')).toContain('“é” is not in the tokenizer');

    await type(page, STEPPER.sel, '');
    await settled(page, STEPPER.sel, '');
    expect(await shadowText(page, STEPPER.sel, '.prompt-error')).toContain('the text is empty: type an English sentence');
    expect(await page.locator(STEPPER.sel).getAttribute('status')).toBe('ready');
    // The reader fixes it in the same box.
    await type(page, STEPPER.sel, SENTENCE);
    await settled(page, STEPPER.sel, SENTENCE);
    expect(await shadowText(page, STEPPER.sel, '.prompt-error')).toBeNull();
    expect((await maps(page, STEPPER.sel))[0].rows).toEqual([...META, ...PIECES]);
    await page.close();
  });

  it('lesson 2: the attention map labels both runs with the word pieces, meta columns only where there are meta tokens', async () => {
    const page = await openWidget((p) => site.open(p), MAP);
    await type(page, MAP.sel, SENTENCE);
    await settled(page, MAP.sel, SENTENCE);
    const [main, compare] = await maps(page, MAP.sel);
    expect(main).toEqual({ run: 'en-hymba', rows: [...META, ...PIECES], cols: [...META, ...PIECES] });
    expect(compare).toEqual({ run: 'en-parallel-swa-kv', rows: PIECES, cols: PIECES });
    expect(await shadowText(page, MAP.sel, '.maps figcaption')).toContain('the first 8 columns are meta tokens, then <s>');
    const url = new URL(page.url());
    expect(url.searchParams.get('meta-map.text')).toBe(SENTENCE);

    await type(page, MAP.sel, '   ');
    await settled(page, MAP.sel, '   ');
    expect(await shadowText(page, MAP.sel, '.text-error')).toContain('the text is empty');
    expect(await page.locator(MAP.sel).locator('input[name=text]').count()).toBe(1);
    await page.close();

    const again = await openWidget((p) => site.open(p), MAP, url.search);
    await settled(again, MAP.sel, SENTENCE);
    expect((await maps(again, MAP.sel))[0].cols).toEqual([...META, ...PIECES]);
    await again.close();
  });

  it('made no console errors and no request off the site', () => {
    expect(site.consoleErrors).toEqual([]);
    expect(site.offOriginRequests).toEqual([]);
  });
});

describe('English text on the CPU tier (no WebGPU)', () => {
  let served: Served;
  let browser: Browser;
  beforeAll(async () => {
    served = await serveSite();
    browser = await launch(NO_WEBGPU_ARGS);
  });
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
  });
  const open = async (p: string) => {
    const page = await browser.context.newPage();
    await page.goto(served.origin + p);
    return page;
  };

  it.each([STEPPER, MAP])('$sel: a typed sentence gives the same word-piece labels, and says it runs on the CPU', async (w) => {
    const page = await openWidget(open, w);
    await type(page, w.sel, SENTENCE);
    await settled(page, w.sel, SENTENCE);
    expect((await maps(page, w.sel))[0].rows).toEqual([...META, ...PIECES]);
    expect(await shadowText(page, w.sel, '.tier')).toMatch(/CPU/);
    await page.close();
  });

  it('made no console errors', () => {
    expect(browser.errors).toEqual([]);
  });
});
