// A lost GPU device (a driver reset, a laptop switching GPUs) and GPU memory over many interactions:
//  - the slice widget, after window.__hymbaLab.loseDevice() destroys the page's device, says so in its own box and
//    computes again on a new device at the reader's next action ("Recompute now"); a loss in the middle of its
//    computation (before the readback) shows the same note and button, not the failed mapAsync's message;
//  - a model on the WebGPU engine (a tiny random checkpoint served to the page) through the page's engine
//    controller: 1,000 meta on/off toggles as a widget makes them (through the controller), then 100 uncached
//    passes, leave the engine's GPU bytes where they started; after a device loss the controller reloads the
//    model on a new device.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { assertWebGpuAdapter, waitForStatus } from './harness.ts';
import { launch, serveSite, type Browser, type Served } from './embed-support.ts';
import { encode, randomTensors, tinyConfig } from '../fixtures/checkpoints.ts';

let site: Served;
let browser: Browser;
let page: Page;
const MODEL = 'tiny-leak-check';
const TOGGLES = 1000;
/** Uncached passes (each ~40-100 ms on SwiftShader): enough to see a per-pass leak, within the e2e time budget. */
const GPU_PASSES = 100;

beforeAll(async () => {
  site = await serveSite();
  browser = await launch();
  const config = tinyConfig();
  const weights = Buffer.from(encode(randomTensors(config, 7)));
  await browser.context.route(`**/models/${MODEL}/*`, (route) => {
    const file = new URL(route.request().url()).pathname.split('/').pop();
    if (file === 'config.json') return route.fulfill({ contentType: 'application/json', body: JSON.stringify(config) });
    if (file === 'model.safetensors') return route.fulfill({ contentType: 'application/octet-stream', body: weights });
    return route.fulfill({ status: 404, body: 'not found' });
  });
  page = await browser.context.newPage();
  await page.goto(`${site.origin}/lessons/00-welcome/`);
  await assertWebGpuAdapter(page);
});
afterAll(async () => {
  await browser?.close();
  await site?.stop();
});

describe('device loss and GPU memory', () => {
  it('the widget reports a lost device and recovers on the next action', async () => {
    const widget = 'hymba-rmsnorm-demo';
    await page.locator(widget).scrollIntoViewIfNeeded();
    await waitForStatus(page, widget, 'ready');
    const before = await page.$eval(widget, (el) => Array.from(el.values!));
    expect(await page.evaluate(() => window.__hymbaLab!.loseDevice())).toBe(true);
    const note = page.locator(`${widget} .device-lost`);
    await note.waitFor();
    expect(await note.textContent()).toContain('the GPU device was lost (destroyed)');
    await page.locator(`${widget} button[name=recompute]`).click();
    await waitForStatus(page, widget, 'ready');
    expect(await note.count()).toBe(0);
    const after = await page.$eval(widget, (el) => ({ values: Array.from(el.values!), adapter: el.adapter }));
    expect(after.adapter.toLowerCase()).toContain('swiftshader'); // on the GPU again, not a CPU fallback
    after.values.forEach((v, i) => expect(v).toBeCloseTo(before[i], 6));
  });

  it('a loss during a computation shows the lost-device note and Recompute, not the failed GPU call', async () => {
    const widget = 'hymba-rmsnorm-demo';
    await waitForStatus(page, widget, 'ready');
    // The driver resets while the widget waits for its result: the device is destroyed just before the readback.
    await page.evaluate(() => {
      const original = GPUBuffer.prototype.mapAsync;
      GPUBuffer.prototype.mapAsync = async function (this: GPUBuffer, ...args: Parameters<GPUBuffer['mapAsync']>) {
        GPUBuffer.prototype.mapAsync = original;
        await window.__hymbaLab!.loseDevice();
        return original.apply(this, args);
      };
      document.querySelector('hymba-rmsnorm-demo')!.seed = 2; // a change of setting: a new computation
    });
    await page.waitForFunction(() => document.querySelector('hymba-rmsnorm-demo')?.getAttribute('status') === 'error');
    const text = await page.$eval(widget, (el) => el.shadowRoot!.textContent ?? '');
    expect(text).toContain('The GPU device was lost while this figure was computing, so it has no result (destroyed).');
    expect(text).not.toMatch(/mapAsync|OperationError|AbortError/);
    const note = page.locator(`${widget} .device-lost`);
    expect(await note.textContent()).toContain('the GPU device was lost (destroyed)');
    await page.locator(`${widget} button[name=recompute]`).click();
    await waitForStatus(page, widget, 'ready');
    expect(await note.count()).toBe(0);
    const after = await page.$eval(widget, (el) => ({ values: Array.from(el.values!), adapter: el.adapter, seed: el.seed }));
    expect(after.adapter.toLowerCase()).toContain('swiftshader');
    expect(after.seed).toBe(2);
    expect(after.values.every(Number.isFinite)).toBe(true);
  });

  it(`${TOGGLES} meta toggles leave the engine's GPU memory where it started`, async () => {
    const result = await page.evaluate(
      async ({ model, toggles, passes }) => {
        const c = await window.__hymbaLab!.controller();
        c.siteFiles = null; // the test serves a model that is not in this build's models/
        const m = await c.load(model);
        const ids = [1, 3, 4, 5, 6, 3, 7];
        // Warm-up: one pass each way fills the activation pool to its working size.
        await m.engine.forward(ids, { meta: true });
        await m.engine.forward(ids, { meta: false });
        const start = await c.allocatedBytes();
        const runsBefore = c.runs;
        // As a widget toggles: each request goes through the controller, which runs each setting once and then
        // answers from its results.
        for (let i = 0; i < toggles; i++) {
          const meta = i % 2 === 0;
          await c.run(`${model}|leak-check|${meta}`, () => m.engine.forward(ids, { meta }));
        }
        const widgetPath = { runs: c.runs - runsBefore, bytes: await c.allocatedBytes() };
        // And uncached: every toggle a real pass on the GPU (pooled buffers must be reused, not re-allocated).
        let logitsSum = 0;
        for (let i = 0; i < passes; i++) logitsSum += (await m.engine.forward(ids, { meta: i % 2 === 0 })).logits.data[0];
        return { tier: m.tier, start, widgetPath, end: await c.allocatedBytes(), finite: Number.isFinite(logitsSum) };
      },
      { model: MODEL, toggles: TOGGLES, passes: GPU_PASSES },
    );
    expect(result.tier).toBe('webgpu');
    expect(result.start).toBeGreaterThan(0);
    expect(result.widgetPath).toEqual({ runs: 2, bytes: result.start });
    expect(result.end).toBe(result.start);
    expect(result.finite).toBe(true);
  });

  it('after a device loss the controller reloads the model on a new device', async () => {
    const result = await page.evaluate(async (model) => {
      const c = await window.__hymbaLab!.controller();
      const first = await c.load(model);
      await window.__hymbaLab!.loseDevice();
      const second = await c.load(model);
      const r = await second.engine.forward([1, 3, 4], { meta: true });
      return { reloaded: first !== second, tier: second.tier, logits: r.logits.data.length };
    }, MODEL);
    expect(result).toEqual({ reloaded: true, tier: 'webgpu', logits: 3 * 8 });
  });

  it('made no console errors', () => {
    // The loader asks for a sharded index first; the 404 for it is expected, nothing else is.
    expect(browser.errors.filter((e) => !e.includes('404'))).toEqual([]);
  });
});
