// A heat map on a <canvas>: one cell per value, hover (or arrow keys) to read a cell, and a text alternative.
// For attention maps, masks and state matrices. Continuous values use viridis (perceptually uniform, colour-blind
// safe); categorical ones pass their own colour function.
import { LitElement, css, html, type PropertyValues } from 'lit';
import { property, query, state } from 'lit/decorators.js';
import { interpolateViridis } from 'd3';
import { define } from './widget-base.ts';

export class HeatmapElement extends LitElement {
  static override styles = css`
    :host {
      display: block;
      max-width: 100%;
    }
    canvas {
      display: block;
      max-width: 100%;
      image-rendering: pixelated;
      cursor: crosshair;
      border: 1px solid var(--hl-border, #d0d4da);
    }
    canvas:focus-visible {
      outline: 3px solid var(--hl-focus, #0072b2);
      outline-offset: 2px;
    }
    .readout {
      font-size: 0.8rem;
      min-height: 1.2em;
      color: var(--hl-muted, #5f6670);
      font-variant-numeric: tabular-nums;
    }
  `;

  /** Row-major values [rows × cols]. */
  @property({ attribute: false }) values: ArrayLike<number> = [];
  @property({ type: Number }) rows = 0;
  @property({ type: Number }) cols = 0;
  /** What the map shows, for screen readers (e.g. "mask of layer 3: query × key"). */
  @property() label = '';
  @property({ attribute: 'row-label' }) rowLabel = 'row';
  @property({ attribute: 'col-label' }) colLabel = 'column';
  /** Cell size in CSS pixels (the canvas shrinks to fit narrow screens). */
  @property({ type: Number }) cell = 6;
  /** Value → CSS colour; default viridis over [min, max] of the values. */
  @property({ attribute: false }) colourOf: ((v: number) => string) | null = null;
  /** Value → text for the readout. */
  @property({ attribute: false }) format: (v: number) => string = (v) => (Number.isInteger(v) ? String(v) : v.toPrecision(3));

  @state() private cursor: [number, number] | null = null;
  @query('canvas') private canvas!: HTMLCanvasElement;

  override render() {
    const c = this.cursor;
    const readout = c ? `${this.rowLabel} ${c[0]}, ${this.colLabel} ${c[1]}: ${this.format(this.values[c[0] * this.cols + c[1]])}` : '';
    return html`<canvas
        role="img"
        tabindex="0"
        aria-label=${`${this.label} (${this.rows} × ${this.cols}); arrow keys read cells`}
        width=${this.cols * this.cell}
        height=${this.rows * this.cell}
        @mousemove=${this.onMove}
        @mouseleave=${() => (this.cursor = null)}
        @keydown=${this.onKey}
      ></canvas>
      <div class="readout" aria-live="polite">${readout}</div>`;
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has('values') || changed.has('rows') || changed.has('cols') || changed.has('cell') || changed.has('colourOf')) this.draw();
  }

  /** The canvas, for PNG export. */
  get canvasElement(): HTMLCanvasElement {
    return this.canvas;
  }

  private draw(): void {
    const ctx = this.canvas?.getContext('2d');
    if (!ctx) return;
    const { rows, cols, cell, values } = this;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < rows * cols; i++) {
      lo = Math.min(lo, values[i]);
      hi = Math.max(hi, values[i]);
    }
    const colour = this.colourOf ?? ((v: number) => interpolateViridis(hi > lo ? (v - lo) / (hi - lo) : 0.5));
    ctx.clearRect(0, 0, cols * cell, rows * cell);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        ctx.fillStyle = colour(values[r * cols + c]);
        ctx.fillRect(c * cell, r * cell, cell, cell);
      }
    }
  }

  private onMove = (e: MouseEvent) => {
    const box = this.canvas.getBoundingClientRect();
    const c = Math.floor(((e.clientX - box.left) / box.width) * this.cols);
    const r = Math.floor(((e.clientY - box.top) / box.height) * this.rows);
    if (r >= 0 && r < this.rows && c >= 0 && c < this.cols) this.cursor = [r, c];
  };

  private onKey = (e: KeyboardEvent) => {
    const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const m = moves[e.key];
    if (!m) return;
    e.preventDefault();
    const [r, c] = this.cursor ?? [0, 0];
    this.cursor = [Math.min(this.rows - 1, Math.max(0, r + m[0])), Math.min(this.cols - 1, Math.max(0, c + m[1]))];
  };
}

define('hl-heatmap', HeatmapElement);

declare global {
  interface HTMLElementTagNameMap {
    'hl-heatmap': HeatmapElement;
  }
}
