// Predict, then reveal (<hl-predict>): where a lesson asks the reader to predict, the figure's answer is not on screen
// until the reader picks a prediction. Lesson 2: the attention map's controls and its meta-on map are shown, but the
// finding, the bar charts and the numbers (which carry the run without meta tokens) are hidden, even once computed;
// picking a choice shows them and keeps the pick on screen. Lessons 6 and 7 hide their figures' answers the same way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSite, waitForStatus, type Site } from './harness.ts';

let site: Site;
beforeAll(async () => {
  site = await openSite();
});
afterAll(async () => {
  await site?.close();
});

describe('<hl-predict>', () => {
  it('lesson 2: the answer stays hidden until the reader picks a prediction', async () => {
    const page = await site.open('/lessons/02-meta-tokens/');
    const widget = page.locator('hl-predict hymba-attention-map');
    await widget.scrollIntoViewIfNeeded();
    await waitForStatus(page, 'hymba-attention-map', 'ready');
    expect(await widget.getAttribute('concealed')).toBe('');
    // Computed, but not on screen: the sentence with the numbers, and the charts of all three runs.
    expect((await widget.locator('[data-finding]').textContent())!.replace(/\s+/g, ' ')).toMatch(/first real token gets \d/);
    expect(await widget.locator('[data-finding]').isVisible()).toBe(false);
    expect(await widget.locator('.chart.heads').isVisible()).toBe(false);
    // What the reader needs to make the prediction is shown: the control and the map with meta tokens.
    expect(await widget.locator('input[name=meta]').isVisible()).toBe(true);
    expect(await widget.locator('.maps figure[data-run=en-hymba] hl-heatmap').isVisible()).toBe(true);
    // Unticking the meta tokens before predicting does not show the answer either.
    await widget.locator('input[name=meta]').uncheck();
    await page.waitForFunction(() =>
      document.querySelector('hymba-attention-map')!.shadowRoot!.querySelector('.maps figure[data-run="en-hymba, meta off"]'),
    );
    expect(await widget.locator('.maps').isVisible()).toBe(false);

    const choices = page.locator('hl-predict button[name=predict]');
    expect(await choices.count()).toBe(3);
    const pick = (await choices.nth(1).textContent())!.trim();
    await choices.nth(1).click();
    expect(await widget.getAttribute('concealed')).toBeNull();
    expect(await widget.locator('[data-finding]').isVisible()).toBe(true);
    expect(await widget.locator('.maps').isVisible()).toBe(true);
    expect(await page.locator('hl-predict .status').textContent()).toContain(pick);
    await page.close();
  });

  it.each([
    ['/lessons/06-fusion-and-importance/', 'hymba-head-importance'],
    ['/lessons/07-design-roadmap/', 'hymba-roadmap'],
  ])('%s: %s is concealed until a pick', async (lesson, tag) => {
    const page = await site.open(lesson);
    const widget = page.locator(`hl-predict ${tag}`);
    await expect.poll(() => widget.getAttribute('concealed')).toBe('');
    // The parts marked as the answer are not drawn; the note says why.
    const hidden = await widget.evaluate((el) =>
      [...el.shadowRoot!.querySelectorAll('[data-result]')].map((r) => getComputedStyle(r).visibility),
    );
    expect(hidden.length).toBeGreaterThan(0);
    expect(new Set(hidden)).toEqual(new Set(['hidden']));
    await page.locator('hl-predict button[name=predict]').first().click();
    expect(await widget.getAttribute('concealed')).toBeNull();
    await page.close();
  });

  it('made no console errors', () => {
    expect(site.consoleErrors).toEqual([]);
  });
});
