// <hymba-stepper> in lesson 1 on the zoo's `hymba` model: it reaches ready, the keyboard steps through the ops of
// the pass (→ / Space forward, ← back to the tensors already read, Home to the start) with the diagram's highlight
// following, and a non-default layer / head / step survives a round trip through the URL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { assertWebGpuAdapter, openSite, screenshot, waitForStatus, type Site } from './harness.ts';

const LESSON = '/lessons/01-forward-pass/';
// Lesson 1 has two steppers: the synthetic one (#stepper) is this test's; english-text.test.ts tests #stepper-en.
const WIDGET = 'hymba-stepper#stepper';

let site: Site;
let page: Page;

const read = (p: Page) =>
  p.$eval(WIDGET, (el: HTMLElementTagNameMap['hymba-stepper']) => ({
    op: el.currentOp,
    step: el.step,
    layer: el.layer,
    head: el.head,
    shown: el.shadowRoot!.querySelector('.op-name')?.textContent ?? '',
    lit: [...el.shadowRoot!.querySelectorAll('svg.diagram .box.current')].map((b) => b.getAttribute('data-box')),
    numLayers: el.loaded!.engine.config.numLayers,
  }));

/** Press a key on the focused widget and wait until its step is `step`. */
async function press(p: Page, key: string, step: number): Promise<void> {
  await p.keyboard.press(key);
  await p.waitForFunction(
    ({ sel, step }) => (document.querySelector(sel) as HTMLElement & { step: number }).step === step,
    { sel: WIDGET, step },
    { timeout: 10_000 },
  );
}

async function openReady(path: string): Promise<Page> {
  const p = await site.open(path);
  await p.locator(WIDGET).scrollIntoViewIfNeeded();
  await waitForStatus(p, WIDGET, 'ready');
  return p;
}

beforeAll(async () => {
  site = await openSite();
  page = await site.open(LESSON);
  await assertWebGpuAdapter(page);
  await page.locator(WIDGET).scrollIntoViewIfNeeded();
  await waitForStatus(page, WIDGET, 'ready');
});

afterAll(async () => {
  await site?.close();
});

describe('lesson 1: <hymba-stepper>', () => {
  it('starts at the embedding with the diagram lit there', async () => {
    const s = await read(page);
    expect(s).toMatchObject({ op: 'hidden_states.0', step: 0, shown: 'hidden_states.0', lit: ['embed'] });
  });

  it('steps op by op with → and Space, back with ←, and restarts with Home', async () => {
    await page.locator(WIDGET).focus();
    const seen: string[] = [(await read(page)).op];
    const lit: string[][] = [];
    for (let i = 1; i <= 4; i++) {
      await press(page, i === 3 ? ' ' : 'ArrowRight', i);
      const s = await read(page);
      expect(s.shown).toBe(s.op);
      seen.push(s.op);
      lit.push(s.lit as string[]);
    }
    // The first ops of every layer are fixed by the model: embedding, input norm, the fused projection.
    expect(seen.slice(0, 3)).toEqual(['hidden_states.0', 'layers.0.input_norm', 'layers.0.in_proj']);
    expect(new Set(seen).size).toBe(seen.length);
    expect(lit[0]).toEqual(['input_norm']);
    expect(lit[1]).toEqual(['in_proj']);

    await press(page, 'ArrowLeft', 3);
    expect((await read(page)).op).toBe(seen[3]);
    await press(page, 'ArrowLeft', 2);
    expect((await read(page)).op).toBe('layers.0.in_proj');
    await press(page, 'ArrowRight', 3);
    expect((await read(page)).op).toBe(seen[3]);
    await press(page, 'Home', 0);
    expect(await read(page)).toMatchObject({ op: 'hidden_states.0', lit: ['embed'] });
  });

  it('round-trips a non-default layer, head and step through the URL', async () => {
    const start = await read(page);
    const layer = Math.min(1, start.numLayers - 1);
    await page.locator(WIDGET).locator('select[name=layer]').selectOption(String(layer));
    await page.waitForFunction(
      ({ sel, layer }) =>
        (document.querySelector(sel) as HTMLElement & { layer: number; currentOp: string }).currentOp === `layers.${layer}.input_norm`,
      { sel: WIDGET, layer },
    );
    await page.locator(WIDGET).locator('select[name=head]').selectOption('1');
    await page.locator(WIDGET).focus();
    const at = (await read(page)).step;
    await press(page, 'ArrowRight', at + 1);
    await press(page, 'ArrowRight', at + 2);
    const before = await read(page);
    expect(before).toMatchObject({ layer, head: 1, step: at + 2 });
    const url = new URL(page.url());
    expect(url.searchParams.get('stepper.step')).toBe(String(at + 2));
    expect(url.searchParams.get('stepper.head')).toBe('1');

    const again = await openReady(url.pathname + url.search);
    const after = await read(again);
    expect(after).toMatchObject({ op: before.op, step: before.step, layer, head: 1 });
    await screenshot(again, 'lesson-01-stepper');
    await again.close();
  });

  it('made no console errors and no request off the site', () => {
    expect(site.consoleErrors).toEqual([]);
    expect(site.offOriginRequests).toEqual([]);
  });
});
