// Shared look of the lab widgets: the site palette (palette.ts) as CSS custom properties with a dark variant, figure
// text of at least 12 px, keyboard-visible controls, and layouts that hold at 375 px.
import { css, html, unsafeCSS, type TemplateResult } from 'lit';
import { colourOf, type Meaning } from './palette.ts';

/** A legend swatch for a meaning of the palette; `data-meaning` lets the e2e test read what the colour stands for. */
export const swatch = (meaning: Meaning): TemplateResult =>
  html`<span class="swatch" data-meaning=${meaning} style="background:${colourOf(meaning)}"></span>`;

/**
 * The width to draw a chart at: the widget's content width, within [min, max]. A chart drawn wider than its box is
 * shrunk to fit, and its 12 px text with it; so charts are drawn at the width they get.
 */
export function chartWidth(host: HTMLElement, max: number, min = 260): number {
  const style = getComputedStyle(host);
  // On a slide laid out in columns (presenterStyles), a chart gets one column's width.
  const columns = Number(style.columnCount) || 1;
  const gaps = (columns - 1) * (parseFloat(style.columnGap) || 0);
  let content = (host.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - gaps) / columns;
  // A slide zooms its figure to fit (presenter.ts), often after a chart is drawn: a chart is drawn for its width at
  // zoom 1, so at the zoom the slide settles on (up to 1) its text is the slide's figure size, not shrunk with it.
  if (host.hasAttribute('presenter')) content *= host.currentCSSZoom;
  return Math.round(Math.max(min, Math.min(max, content > 0 ? content : max)));
}

/**
 * The CSS size of an SVG laid out by hand for 12 px text in its own units, `width` units wide: its drawn size on the
 * page (''); on a presenter slide up to 4/3 as large, so its text is the slide's 16 px figure text, and narrower
 * where its column is narrower (a smaller screen), never wider than its box.
 */
export function fixedTextSize(width: number, presenter: boolean): string {
  return presenter ? `width: 100%; max-width: ${Math.round((width * 4) / 3)}px; height: auto` : '';
}

/** How figures look in every widget: Plot text of at least 12 px, Plot's figure margins, predict-then-reveal. */
export const figureStyles = css`
  /* Figure text of at least 12 px: Observable Plot writes 10 px into its SVGs and legends (every class it makes starts
     with "plot-"). The presenter's slides ask for more through --hl-figure-font. */
  [class^='plot-'] {
    font-size: var(--hl-figure-font, 12px) !important;
  }
  /* Plot wraps a chart with a legend in a <figure>: without the browser's 40 px figure margins, it gets the width it
     was drawn for. */
  figure[class^='plot-'] {
    margin: 0;
  }
  /* Predict, then reveal (<hl-predict>): while the reader has not committed to a prediction, what answers it is
     hidden, with a note in its place (a hidden box keeps its size, so the page does not jump on reveal). */
  :host([concealed]) [data-result] {
    visibility: hidden;
    position: relative;
  }
  :host([concealed]) [data-result]::before {
    content: 'Hidden until you make your prediction above.';
    visibility: visible;
    position: absolute;
    inset: 0;
    display: grid;
    place-items: center;
    min-height: 2.5em;
    border: 2px dashed var(--hl-border, #d0d4da);
    border-radius: 6px;
    color: var(--hl-muted, #5f6670);
    font-size: 0.9rem;
  }
  /* A hidden table cell shows only a question mark. */
  :host([concealed]) [data-result='cell']::before {
    content: '?';
    border: 0;
    min-height: 0;
  }
`;

/**
 * A widget on a presenter slide (`presenter`, set by the slide; lab-widget.ts). A slide is wide and short, so a widget
 * whose figure is tall lays itself out in the slide's columns (`--slide-columns: 2` in its styles): controls, figure
 * parts and their legends flow down the first column and on into the next, each part kept whole, and the figure
 * needs half the height, which the slide's zoom turns into larger text. The "Show numbers" tables stay on the lesson
 * page: a slide shows the figure.
 */
const presenterStyles = css`
  :host([presenter]) {
    column-count: var(--slide-columns, 1);
    column-gap: 2rem;
    padding: 0.5rem 0.75rem;
  }
  :host([presenter]) > * {
    break-inside: avoid;
  }
  :host([presenter]) > :first-child {
    margin-top: 0;
  }
  /* A wide table fits the slide's width: its column headers wrap between words (never inside one, as everywhere). */
  :host([presenter]) thead th {
    white-space: normal;
  }
  /* The hints under a text box (how to type a prompt) are for a reader at the keyboard: they stay on the page. */
  :host([presenter]) :is(#text-help, #prompt-help),
  :host([presenter]) details.numbers,
  :host([presenter]) [data-result]:has(> details.numbers):not(:has(> :not(details.numbers))) {
    display: none;
  }
`;

export const labStyles = css`
  ${figureStyles}
  ${presenterStyles}
  :host {
    --hl-c-global: ${unsafeCSS(colourOf('global'))};
    --hl-c-swa: ${unsafeCSS(colourOf('window'))};
    --hl-c-consumer: ${unsafeCSS(colourOf('reuse'))};
    --hl-c-conv: ${unsafeCSS(colourOf('conv'))};
    --hl-c-ssm: ${unsafeCSS(colourOf('ssm'))};
    --hl-c-meta: ${unsafeCSS(colourOf('meta'))};
    --hl-c-empty: #eef0f3;
    --hl-focus: #0072b2;
    font-size: 0.95rem;
    max-width: 100%;
    overflow-wrap: anywhere;
  }
  @media (prefers-color-scheme: dark) {
    :host {
      --hl-c-empty: #2a3038;
      --hl-focus: #56b4e9;
    }
  }
  .controls {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem 1.25rem;
    align-items: center;
    margin-bottom: 0.75rem;
  }
  .controls label {
    display: inline-flex;
    gap: 0.4rem;
    align-items: center;
  }
  input[type='range'] {
    width: min(14rem, 60vw);
  }
  button,
  select,
  input {
    font: inherit;
    color: inherit;
  }
  button,
  select {
    background: var(--hl-code-bg, #f1f3f5);
    border: 1px solid var(--hl-border, #d0d4da);
    border-radius: 5px;
    padding: 0.2rem 0.6rem;
    cursor: pointer;
  }
  button:focus-visible,
  select:focus-visible,
  input:focus-visible,
  summary:focus-visible {
    outline: 3px solid var(--hl-focus);
    outline-offset: 2px;
  }
  .toolbar {
    display: flex;
    flex-wrap: wrap;
    gap: 0.4rem;
    margin-top: 0.75rem;
    font-size: 0.85rem;
  }
  .note {
    font-size: 0.85rem;
    color: var(--hl-muted, #5f6670);
    margin: 0.4rem 0;
  }
  .legend {
    display: flex;
    flex-wrap: wrap;
    gap: 0.3rem 1rem;
    font-size: 0.8rem;
  }
  .swatch {
    display: inline-block;
    width: 0.8rem;
    height: 0.8rem;
    border-radius: 2px;
    vertical-align: -0.1rem;
    margin-right: 0.3rem;
  }
  .chart {
    overflow-x: auto;
    max-width: 100%;
  }
  .chart svg {
    max-width: 100%;
    height: auto;
  }
  table.numbers {
    border-collapse: collapse;
    font-size: 12px;
    font-variant-numeric: tabular-nums;
    display: block;
    overflow-x: auto;
    max-width: 100%;
  }
  /* Every table scrolls sideways inside its widget rather than widen the page (its cells do not wrap). */
  table {
    display: block;
    max-width: 100%;
    overflow-x: auto;
  }
  /* The host's overflow-wrap: anywhere must not reach table cells: a cell never breaks inside a word or token. */
  th,
  td {
    overflow-wrap: normal;
    word-break: keep-all;
    /* names like parallel-swa-kv would otherwise break at their hyphens; wide tables scroll instead */
    white-space: nowrap;
  }
  td code,
  th code {
    white-space: nowrap;
  }
  table.numbers th,
  table.numbers td {
    padding: 0.1rem 0.6rem;
    text-align: right;
    border-bottom: 1px solid var(--hl-border, #d0d4da);
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }
`;
