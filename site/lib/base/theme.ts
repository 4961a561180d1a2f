// Shared look of the lab widgets: a colour-blind-safe palette (Okabe–Ito for categories, viridis for heat maps) as
// CSS custom properties with a dark variant, keyboard-visible controls, and layouts that hold at 375 px.
import { css, unsafeCSS } from 'lit';

/** Okabe & Ito (2008): eight colours distinguishable under the common colour-vision deficiencies. */
export const OKABE_ITO = {
  orange: '#E69F00',
  skyBlue: '#56B4E9',
  green: '#009E73',
  yellow: '#F0E442',
  blue: '#0072B2',
  vermillion: '#D55E00',
  purple: '#CC79A7',
  black: '#000000',
} as const;

/** One colour per cache kind / layer kind, used by every widget so a colour means one thing across the site. */
export const KIND_COLOURS = {
  global: OKABE_ITO.vermillion,
  swa: OKABE_ITO.blue,
  consumer: OKABE_ITO.skyBlue,
  kv: OKABE_ITO.blue,
  conv: OKABE_ITO.orange,
  ssm: OKABE_ITO.green,
  meta: OKABE_ITO.purple,
} as const;

export const labStyles = css`
  :host {
    --hl-c-global: ${unsafeCSS(KIND_COLOURS.global)};
    --hl-c-swa: ${unsafeCSS(KIND_COLOURS.swa)};
    --hl-c-consumer: ${unsafeCSS(KIND_COLOURS.consumer)};
    --hl-c-conv: ${unsafeCSS(KIND_COLOURS.conv)};
    --hl-c-ssm: ${unsafeCSS(KIND_COLOURS.ssm)};
    --hl-c-meta: ${unsafeCSS(KIND_COLOURS.meta)};
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
    font-size: 0.8rem;
    font-variant-numeric: tabular-nums;
    display: block;
    overflow-x: auto;
    max-width: 100%;
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
