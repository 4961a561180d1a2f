// A heat map on a <canvas>: one cell per value, token labels on both axes, a colour legend with units, hover (or
// arrow keys) to read a cell by its row and column names, and a text alternative. For attention maps, masks and
// state matrices. Its text is --hl-figure-font (12 px; larger on presenter slides). Continuous values use viridis
// (perceptually uniform, colour-blind safe), or a diverging PuOr scale
// centred at 0 when the values have both signs (so a negative value never sits at the positive end of the legend);
// categorical maps pass their own colour function and legend entries.
import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { property, query, state } from 'lit/decorators.js';
import { interpolatePuOr, interpolateViridis } from 'd3';
import { define } from './widget-base.ts';

export class HeatmapElement extends LitElement {
  static override styles = css`
    :host {
      display: block;
      max-width: 100%;
    }
    .plot {
      display: grid;
      grid-template-columns: auto auto minmax(0, max-content);
      grid-template-areas:
        'ytitle yticks map'
        '. . xticks'
        '. . xtitle';
      align-items: stretch;
      font-size: var(--hl-figure-font, 12px);
      max-width: 100%;
      /* the axis titles and ticks stay beside the map when the box is wider than the map */
      justify-content: start;
    }
    .ytitle {
      grid-area: ytitle;
      writing-mode: vertical-rl;
      transform: rotate(180deg);
      text-align: center;
      padding-left: 2px;
    }
    .yticks,
    .xticks {
      position: relative;
      white-space: nowrap;
      color: var(--hl-muted, #5f6670);
      font-size: var(--hl-figure-font, 12px);
      line-height: 1;
    }
    .yticks {
      grid-area: yticks;
      min-width: 1.5em;
      padding-right: 3px;
    }
    .yticks span {
      position: absolute;
      right: 3px;
      transform: translateY(-50%);
    }
    .xticks {
      grid-area: xticks;
      min-height: 1.5em;
    }
    .xticks span {
      position: absolute;
      top: 2px;
      writing-mode: vertical-rl;
      transform: translateX(-50%) rotate(180deg);
    }
    .xtitle {
      grid-area: xtitle;
      text-align: center;
    }
    .map {
      grid-area: map;
    }
    .legend {
      display: flex;
      flex-wrap: wrap;
      align-items: center;
      gap: 0.3rem 0.8rem;
      font-size: var(--hl-figure-font, 12px);
      margin-top: 0.3rem;
      white-space: nowrap;
    }
    /* What the colours measure may be long: it wraps between words in a narrow box. */
    .legend > :first-child {
      white-space: normal;
    }
    .ramp {
      display: inline-block;
      width: 8rem;
      height: 0.8rem;
      border: 1px solid var(--hl-border, #d0d4da);
      vertical-align: middle;
    }
    .swatch {
      display: inline-block;
      width: 0.8rem;
      height: 0.8rem;
      margin-right: 0.25rem;
      border: 1px solid var(--hl-border, #d0d4da);
      vertical-align: middle;
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
      font-size: var(--hl-figure-font, 12px);
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
  /** Names of the rows and columns (e.g. the tokens), shown on the axes and in the hover readout; positions if empty. */
  @property({ attribute: false }) rowNames: readonly string[] = [];
  @property({ attribute: false }) colNames: readonly string[] = [];
  /** What one value measures, with its unit, for the legend (e.g. "attention probability (0–1)"). */
  @property() unit = 'value';
  /** Legend entries for a categorical map (with `colourOf`); a continuous map draws a colour ramp instead. */
  /** Entries of a categorical legend; `meaning` names the palette meaning (palette.ts) a colour stands for, if any. */
  @property({ attribute: false }) legendItems: readonly { colour: string; label: string; meaning?: string }[] | null = null;
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
    const readout = c
      ? `${this.rowLabel} ${this.nameOf(this.rowNames, c[0])}, ${this.colLabel} ${this.nameOf(this.colNames, c[1])}: ${this.format(this.values[c[0] * this.cols + c[1]])}`
      : '';
    return html`<div class="plot">
        <div class="ytitle axis-title">${this.rowLabel} ↓</div>
        <div class="yticks" aria-hidden="true" style=${`min-width: ${this.longestName(this.rows, this.rowNames) * 0.62 + 0.3}em`}>
          ${this.ticks(this.rows, this.rowNames, 'top')}
        </div>
        <canvas
          class="map"
          role="img"
          tabindex="0"
          aria-label=${`${this.label} (${this.rows} × ${this.cols}); arrow keys read cells`}
          width=${this.cols * this.cell}
          height=${this.rows * this.cell}
          @mousemove=${this.onMove}
          @mouseleave=${() => (this.cursor = null)}
          @keydown=${this.onKey}
        ></canvas>
        <div class="xticks" aria-hidden="true" style=${`min-height: ${this.longestName(this.cols, this.colNames) * 0.62 + 0.5}em`}>
          ${this.ticks(this.cols, this.colNames, 'left')}
        </div>
        <div class="xtitle axis-title">${this.colLabel} →</div>
      </div>
      ${this.renderLegend()}
      <div class="readout" aria-live="polite">${readout}</div>`;
  }

  /** "3 “cat”" when the position has a name, else just the position. */
  private nameOf(names: readonly string[], i: number): string {
    return names[i] !== undefined ? `${i} “${names[i]}”` : String(i);
  }

  /** The length (characters) of the longest tick label: the row labels' width, and the upright column labels' height. */
  private longestName(n: number, names: readonly string[]): number {
    let longest = String(Math.max(0, n - 1)).length;
    for (let i = 0; i < n; i++) longest = Math.max(longest, names[i]?.length ?? 0);
    return longest;
  }

  /** Tick labels along one axis, thinned so 12 px labels never overlap at the drawn cell size. */
  private ticks(n: number, names: readonly string[], side: 'top' | 'left'): TemplateResult[] {
    const every = Math.max(1, Math.ceil(14 / this.cell));
    const out: TemplateResult[] = [];
    for (let i = 0; i < n; i += every) {
      const text = names[i] ?? String(i);
      out.push(html`<span style=${`${side}: ${((i + 0.5) / n) * 100}%`}>${text}</span>`);
    }
    return out;
  }

  private renderLegend(): TemplateResult {
    if (this.legendItems) {
      return html`<div class="legend" role="list" aria-label=${`legend: ${this.unit}`}>
        <span>${this.unit}:</span>
        ${this.legendItems.map(
          (it) =>
            html`<span role="listitem"
              ><span class="swatch" data-meaning=${it.meaning ?? nothing} style=${`background: ${it.colour}`}></span>${it.label}</span
            >`,
        )}
      </div>`;
    }
    const { lo, hi, colour } = this.scale();
    const stops = Array.from({ length: 11 }, (_, i) => colour(lo + ((hi - lo) * i) / 10)).join(', ');
    return html`<div class="legend" aria-label=${`legend: ${this.unit} from ${this.format(lo)} to ${this.format(hi)}`}>
      <span>${this.unit}:</span>
      <span class="legend-lo">${this.format(lo)}</span>
      <span class="ramp" style=${`background: linear-gradient(to right, ${stops})`}></span>
      <span class="legend-hi">${this.format(hi)}</span>
    </div>`;
  }

  /** The value range the colours span and the colour of a value: diverging around 0 when the values have both signs. */
  private scale(): { lo: number; hi: number; colour: (v: number) => string } {
    const { rows, cols, values } = this;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < rows * cols; i++) {
      lo = Math.min(lo, values[i]);
      hi = Math.max(hi, values[i]);
    }
    if (!Number.isFinite(lo)) return { lo: 0, hi: 1, colour: this.colourOf ?? (() => interpolateViridis(0.5)) };
    if (this.colourOf) return { lo, hi, colour: this.colourOf };
    if (lo < 0 && hi > 0) {
      const m = Math.max(-lo, hi);
      // PuOr reversed so that positive is orange, negative purple (as in the head-importance map).
      return { lo: -m, hi: m, colour: (v) => interpolatePuOr(0.5 - v / (2 * m)) };
    }
    return { lo, hi, colour: (v) => interpolateViridis(hi > lo ? (v - lo) / (hi - lo) : 0.5) };
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
    const { colour } = this.scale();
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
