// <hymba-head-importance> in lesson 6: its heat-map says one thing three ways, and they agree. Each cell's text is
// the change in accuracy the widget measured for that removal (−100 × drop, in points); its fill is the legend's
// colour for that same signed number (read through the figure's own colour scale, which draws the legend); and the
// legend runs from −100 to +100 points with a loss (below zero) at the orange end, as the lesson's text says.
// This is the bug issue 19 found once: negative numbers drawn at the positive end of the legend.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSite, waitForStatus, type Site } from './harness.ts';

const LESSON = '/lessons/06-fusion-and-importance/';
const WIDGET = 'hymba-head-importance';

let site: Site;
beforeAll(async () => {
  site = await openSite();
});
afterAll(async () => {
  await site?.close();
});

interface DrawnCell {
  text: string;
  fill: string;
  /** The scale's colour for the number the text shows, as the browser resolves it (rgb). */
  legendFill: string;
}

describe('lesson 6: <hymba-head-importance> heat-map', () => {
  it('cell text, cell colour and legend read the same signed change in points', async () => {
    const page = await site.open(LESSON);
    // Fewer sequences than the lesson's 16: what the figure draws does not depend on the sample size.
    await page.$eval(WIDGET, (el) => el.setAttribute('sequences', '2'));
    await page.locator(WIDGET).scrollIntoViewIfNeeded();
    await waitForStatus(page, WIDGET, 'ready', 240_000);
    const drawn = await page.$eval(WIDGET, (el) => {
      const w = el as HTMLElement & { cells: Array<{ drop: number; branch: string; layer: number }> };
      const figure = w.shadowRoot!.querySelector('figure[data-result] figure') as HTMLElement & {
        scale: (name: string) => { apply: (x: number) => string; domain: number[] };
      };
      const resolve = (colour: string) => {
        const probe = document.createElement('span');
        probe.style.color = colour;
        document.body.append(probe);
        const rgb = getComputedStyle(probe).color;
        probe.remove();
        return rgb;
      };
      const scale = figure.scale('color');
      const rects = [...figure.querySelectorAll('g[aria-label="cell"] rect')];
      const texts = [...figure.querySelectorAll('g[aria-label="text"] text')].map((t) => t.textContent!);
      const cells: DrawnCell[] = rects.map((r, i) => {
        const value = Number(texts[i].replace(' pts', '').replace('−', '-'));
        return { text: texts[i], fill: resolve(r.getAttribute('fill')!), legendFill: resolve(scale.apply(value)) };
      });
      // Plot draws the legend first, as its own <svg>, then the chart.
      const legend = figure.querySelector('svg');
      return {
        cells,
        expected: w.cells.map((c) => Math.round(-100 * c.drop)),
        domain: scale.domain,
        lossColour: resolve(scale.apply(-100)),
        legendText: legend!.textContent!,
      };
    });
    expect(drawn.cells.length).toBeGreaterThan(0);
    // Every cell's text is the measured change, signed with a true minus; its fill is the legend's colour for it.
    const shown = drawn.cells.map((c) => Number(c.text.replace(' pts', '').replace('−', '-')));
    expect([...shown].sort((a, b) => a - b)).toEqual([...drawn.expected].sort((a, b) => a - b));
    for (const c of drawn.cells) {
      if (c.text.startsWith('-')) throw new Error(`"${c.text}" uses a hyphen, not a minus`);
      // The fill is for the unrounded change, the text rounds it: within a shade (half a point of 200).
      const [fill, legend] = [c.fill, c.legendFill].map((x) => x.match(/\d+/g)!.map(Number));
      expect(Math.max(...fill.map((v, i) => Math.abs(v - legend[i]))), `${c.text}: ${c.fill} vs ${c.legendFill}`).toBeLessThanOrEqual(3);
    }
    // The legend: −100 to +100 points, labelled with its unit; a loss is orange (more red than blue), as the lesson says.
    expect(drawn.domain).toEqual([-100, 100]);
    expect(drawn.legendText).toContain('accuracy change (points)');
    expect(drawn.legendText).toContain('−100');
    expect(drawn.legendText).toContain('+100');
    const [r, , b] = drawn.lossColour.match(/\d+/g)!.map(Number);
    expect(r).toBeGreaterThan(b);
    await page.close();
  });
});
