// <hymba-rmsnorm-demo rows="4" cols="64" seed="1" eps="1e-6">: RMSNorm computed by a WGSL kernel on the page's GPU,
// drawn with Observable Plot. The site's vertical slice: attributes → engine GPU layer → readback → chart.
import { css, html, type TemplateResult } from 'lit';
import { state } from 'lit/decorators.js';
import * as Plot from '@observablehq/plot';
import { rmsnormCpu, runSliceRmsnorm, sliceDemoInput, type SliceRmsnormInput } from '../../engine/webgpu/kernels/slice.ts';
import { WebGpuUnavailableError } from '../../engine/webgpu/device.ts';
import { define } from '../lib/base/widget-base.ts';
import { LabWidget } from '../lib/base/lab-widget.ts';
import type { Schema } from '../lib/base/url-state.ts';
import { chartWidth, figureStyles } from '../lib/base/theme.ts';
import { getPageGpu } from '../lib/page/gpu.ts';

const rms = (v: Float32Array): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);

/** A result that is not a finite number: shown as the widget's error, never drawn as if it were a result. */
export class NonFiniteResultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NonFiniteResultError';
  }
}

export class HymbaRmsnormDemo extends LabWidget {
  static override styles = [
    LabWidget.styles,
    figureStyles,
    css`
      table {
        border-collapse: collapse;
        font-size: 0.9rem;
        font-variant-numeric: tabular-nums;
      }
      th,
      td {
        padding: 0.15rem 0.75rem;
        text-align: right;
      }
      .chart {
        overflow-x: auto;
      }
      .adapter {
        font-size: 0.8rem;
        color: var(--hl-muted, #5f6670);
      }
    `,
  ];

  static override computesOffscreen = true;

  // The chart draws rows × cols points twice: the limits keep that (and the GPU buffers) small.
  static override settings: Schema = {
    rows: { kind: 'number', default: 4, min: 1, max: 64, int: true },
    cols: { kind: 'number', default: 64, min: 1, max: 1024, int: true },
    seed: { kind: 'number', default: 1, min: 0, max: 2 ** 32 - 1, int: true },
    eps: { kind: 'number', default: 1e-6, min: 0, max: 1 },
  };

  /** Tokens (rows) to normalise. */
  declare rows: number;
  /** Channels per token. */
  declare cols: number;
  /** Seed of the demo input. */
  declare seed: number;
  declare eps: number;

  /** The input the kernel ran on (for tests and readers' curiosity). */
  inputs: SliceRmsnormInput | null = null;
  /** The GPU result, row-major [rows, cols]. */
  values: Float32Array | null = null;
  /** The WebGPU adapter that ran the kernel, e.g. "google swiftshader". */
  adapter = '';

  @state() private chart: Element | null = null;

  /** Set when there is no WebGPU: the same formula then runs on the CPU, and this says why. */
  cpuNote = '';

  protected override async compute(): Promise<void> {
    const input = sliceDemoInput(this.rows, this.cols, this.seed, this.eps);
    let values: Float32Array;
    try {
      const gpu = await getPageGpu();
      values = await runSliceRmsnorm(gpu.device, input);
      const { vendor, architecture, description } = gpu.adapterInfo;
      this.adapter = [vendor, architecture].filter(Boolean).join(' ') || description || 'unknown adapter';
      this.cpuNote = '';
    } catch (e) {
      // The capability tier below WebGPU: the CPU reference, with an honest note (the lesson still teaches).
      if (!(e instanceof WebGpuUnavailableError)) throw e;
      values = rmsnormCpu(input);
      this.adapter = 'the CPU (JavaScript reference)';
      this.cpuNote = `Running on the CPU: ${e.message}`;
    }
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      const r = Math.floor(bad / input.cols);
      throw new NonFiniteResultError(
        `RMSNorm gave ${values[bad]} at token ${r + 1}, channel ${(bad % input.cols) + 1} (rows=${input.rows}, cols=${input.cols}, eps=${input.eps}): the result is not shown.`,
      );
    }
    this.inputs = input;
    this.values = values;
    this.chart = this.plot(input, values);
  }

  private plot({ x, rows, cols }: SliceRmsnormInput, y: Float32Array): Element {
    const output = this.cpuNote ? 'RMSNorm(x) on the CPU' : 'RMSNorm(x) on the GPU';
    const data: { stage: string; token: string; channel: number; value: number }[] = [];
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        data.push({ stage: 'input x', token: `token ${r + 1}`, channel: c, value: x[r * cols + c] });
        data.push({ stage: output, token: `token ${r + 1}`, channel: c, value: y[r * cols + c] });
      }
    }
    return Plot.plot({
      width: chartWidth(this, 720),
      height: 260,
      marginLeft: 40,
      fx: { label: null, domain: ['input x', output] },
      x: { label: 'channel' },
      y: { grid: true, label: 'value' },
      color: { legend: true, scheme: 'viridis' },
      marks: [Plot.ruleY([0]), Plot.lineY(data, { fx: 'stage', x: 'channel', y: 'value', stroke: 'token', strokeWidth: 1.5 })],
    });
  }

  protected override renderBody(): TemplateResult {
    const { inputs, values } = this;
    if (!inputs || !values) return html`<div class="chart"></div>`;
    const row = (v: Float32Array, r: number) => v.subarray(r * inputs.cols, (r + 1) * inputs.cols);
    return html`
      <div class="chart">${this.chart}</div>
      <table>
        <thead>
          <tr>
            <th>token</th>
            <th>RMS before</th>
            <th>RMS after</th>
          </tr>
        </thead>
        <tbody>
          ${Array.from(
            { length: inputs.rows },
            (_, r) =>
              html`<tr>
                <td>${r + 1}</td>
                <td>${rms(row(inputs.x, r)).toFixed(3)}</td>
                <td>${rms(row(values, r)).toFixed(3)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${
        this.cpuNote
          ? html`<p class="adapter tier">${this.cpuNote}</p>`
          : html`<p class="adapter">Computed by a WGSL kernel on: ${this.adapter}</p>`
      }
    `;
  }
}

define('hymba-rmsnorm-demo', HymbaRmsnormDemo);

declare global {
  interface HTMLElementTagNameMap {
    'hymba-rmsnorm-demo': HymbaRmsnormDemo;
  }
}
