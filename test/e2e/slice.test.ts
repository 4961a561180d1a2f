// The vertical slice in a real browser: the welcome lesson's <hymba-rmsnorm-demo> runs its WGSL kernel on
// Chromium's WebGPU (SwiftShader), and its numbers match RMSNorm computed here on the CPU.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { assertWebGpuAdapter, openSite, screenshot, waitForStatus, type Site } from './harness.ts';

const WIDGET = 'hymba-rmsnorm-demo';

let site: Site;
let page: Page;

beforeAll(async () => {
  site = await openSite();
  page = await site.open('/lessons/00-welcome/');
  await assertWebGpuAdapter(page);
  await waitForStatus(page, WIDGET, 'ready');
});

afterAll(async () => {
  await site?.close();
});

describe('welcome lesson: <hymba-rmsnorm-demo>', () => {
  it('computes RMSNorm on the browser GPU, matching a CPU reference', async () => {
    const result = await page.$eval(WIDGET, (el) => ({
      x: Array.from(el.inputs!.x),
      weight: Array.from(el.inputs!.weight),
      rows: el.inputs!.rows,
      cols: el.inputs!.cols,
      eps: el.inputs!.eps,
      values: Array.from(el.values!),
      adapter: el.adapter,
    }));
    // The attributes in lessons/00-welcome.mdx.
    expect([result.rows, result.cols]).toEqual([4, 64]);
    expect(result.values).toHaveLength(4 * 64);

    let maxError = 0;
    for (let r = 0; r < result.rows; r++) {
      const row = result.x.slice(r * result.cols, (r + 1) * result.cols);
      const invRms = 1 / Math.sqrt(row.reduce((s, v) => s + v * v, 0) / result.cols + result.eps);
      row.forEach((v, c) => {
        maxError = Math.max(maxError, Math.abs(result.values[r * result.cols + c] - result.weight[c] * v * invRms));
      });
    }
    expect(maxError).toBeLessThan(1e-5);
    // The rows really differ in scale, so a kernel that skipped the normalisation could not pass.
    const rowRms = [0, 3].map((r) => Math.hypot(...result.x.slice(r * 64, (r + 1) * 64)) / 8);
    expect(rowRms[1] / rowRms[0]).toBeGreaterThan(10);

    // SwiftShader: the kernel ran on the browser's WebGPU, not a CPU fallback in the widget.
    expect(result.adapter.toLowerCase()).toContain('swiftshader');
  });

  it('draws the result with Observable Plot', async () => {
    const chart = await page.$eval(WIDGET, (el) => {
      const svg = el.shadowRoot!.querySelector('.chart svg[viewBox]');
      return { hasSvg: !!svg, lines: el.shadowRoot!.querySelectorAll('.chart [aria-label="line"] path').length };
    });
    expect(chart.hasSvg).toBe(true);
    expect(chart.lines).toBe(8); // 4 tokens × (input, output)
    await screenshot(page, 'welcome-lesson');
  });

  it('without WebGPU, computes on the CPU and tells the reader why', async () => {
    const noGpu = await site.context.newPage();
    await noGpu.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
    await noGpu.goto(site.origin + '/lessons/00-welcome/');
    await noGpu.waitForSelector(`${WIDGET}[status=ready]`, { timeout: 30_000 });
    const note = await noGpu.$eval(WIDGET, (el) => el.shadowRoot!.querySelector('.tier')?.textContent ?? '');
    expect(note).toContain('Running on the CPU');
    expect(note).toContain('WebGPU is not available here'); // WebGpuUnavailableError from engine/webgpu/device.ts
    await noGpu.close();
  });

  it('made no console errors and no request off the site', () => {
    expect(site.consoleErrors).toEqual([]);
    expect(site.offOriginRequests).toEqual([]);
  });
});
