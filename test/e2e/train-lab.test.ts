// <hymba-train-lab> in lesson 7: a short seeded run in the page lowers the loss; the model downloads as
// config.json + model.safetensors and, loaded back through the file picker, gives the same answers as the trained
// run. A small model (width 16, 32-token sequences) and a few steps keep it within SwiftShader's reach.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { assertWebGpuAdapter, openSite, screenshot, waitForStatus, type Site } from './harness.ts';

const LESSON = '/lessons/07-design-roadmap/';
const WIDGET = 'hymba-train-lab';
const STEPS = 12;

let site: Site;
let page: Page;
let downloads: string;

beforeAll(async () => {
  downloads = mkdtempSync(path.join(os.tmpdir(), 'train-lab-'));
  site = await openSite();
  page = await site.open(LESSON);
  await assertWebGpuAdapter(page);
  await page.locator(WIDGET).scrollIntoViewIfNeeded();
  await waitForStatus(page, WIDGET, 'ready');
  await page.$eval(WIDGET, (el) => {
    Object.assign(el, { steps: 12, batch: 4, width: 16, seqLen: 32, lr: 0.01, logEvery: 1, evalEvery: 0, evalSequences: 0 });
  });
}, 120_000);

afterAll(async () => {
  await site?.close();
  rmSync(downloads, { recursive: true, force: true });
});

describe('lesson 7: <hymba-train-lab>', () => {
  it('a short run lowers the loss', async () => {
    await page.locator(`${WIDGET} button[name=train]`).click();
    await page.waitForFunction((s) => (document.querySelector(s) as HTMLElement & { runs: { done: boolean }[] }).runs[0]?.done, WIDGET, {
      timeout: 240_000,
    });
    const run = await page.$eval(WIDGET, (el) => ({
      losses: el.runs[0].losses,
      predictions: el.runs[0].predictions?.length,
      step: el.runs[0].step,
      initialLoss: el.runs[0].initialLoss,
    }));
    expect(run.step).toBe(STEPS);
    // Shown first, before step 1's update: step 1's own loss (the same forward), not a number of its own.
    expect(run.initialLoss).toBe(run.losses[0].loss);
    expect(run.losses.map((l) => l.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    // Each step sees a fresh batch, so single losses are noisy: compare the means of the first and last three.
    const mean = (xs: { loss: number }[]) => xs.reduce((a, l) => a + l.loss, 0) / xs.length;
    expect(mean(run.losses.slice(-3))).toBeLessThan(mean(run.losses.slice(0, 3)));
    expect(run.predictions).toBe(4 * 16);
    const shown = await page.$eval(WIDGET, (el) => el.shadowRoot!.querySelector('.progress')!.textContent!.replace(/\s+/g, ' '));
    expect(shown).toContain(`Step ${STEPS} of ${STEPS}`);
    await screenshot(page, 'train-lab');
  }, 300_000);

  it('the downloaded checkpoint loads back and gives the same predictions', async () => {
    const files: string[] = [];
    const both = new Promise<void>((resolve) => {
      page.on('download', async (d) => {
        const file = path.join(downloads, d.suggestedFilename());
        await d.saveAs(file);
        files.push(file);
        if (files.length === 2) resolve();
      });
    });
    await page.locator(`${WIDGET} button[name=download]`).click();
    await both;
    expect(files.map((f) => path.basename(f)).sort()).toEqual(['config.json', 'model.safetensors']);
    expect(statSync(path.join(downloads, 'model.safetensors')).size).toBeGreaterThan(10_000);
    await page.locator(`${WIDGET} input[name=load]`).setInputFiles(files);
    await page.waitForFunction((s) => (document.querySelector(s) as HTMLElement & { loaded: unknown }).loaded, WIDGET, { timeout: 60_000 });
    const loaded = await page.$eval(WIDGET, (el) => el.loaded!);
    expect(loaded.total).toBe(64);
    expect(loaded.same).toBe(loaded.total);
  }, 120_000);

  it('pause stops between steps and resume finishes the run', async () => {
    await page.$eval(WIDGET, (el) => Object.assign(el, { steps: 3 }));
    await page.locator(`${WIDGET} button[name=train]`).click();
    await page.locator(`${WIDGET} button[name=pause]`).click();
    await page.waitForFunction((s) => (document.querySelector(s) as HTMLElement & { paused: boolean }).paused, WIDGET);
    const stepWhenPaused = await page.$eval(WIDGET, (el) => el.runs[1].step);
    expect(stepWhenPaused).toBeLessThan(3);
    await page.locator(`${WIDGET} button[name=pause]`).click(); // Resume
    await page.waitForFunction((s) => (document.querySelector(s) as HTMLElement & { runs: { done: boolean }[] }).runs[1]?.done, WIDGET, {
      timeout: 240_000,
    });
    // Two runs on the charts, for comparison.
    expect(await page.$eval(WIDGET, (el) => el.runs.map((r) => r.step))).toEqual([STEPS, 3]);
  }, 300_000);

  it('logs no console errors', () => {
    expect(site.consoleErrors).toEqual([]);
  });
});
