// <hymba-mask-view model="hymba" preset="hymba-1.5b" window="8" tokens="24" meta layer="1">
// Which earlier tokens each query may attend to, per layer: the sliding window, the meta tokens every query sees,
// and the few global layers that see everything. With the zoo's `swa` and `hymba` models it also draws their
// selective-copy accuracy by distance (from card.json): what a window does to reach, and what global layers fix.
// Copy, not MQAR: without the Q/K/V conv neither model learned MQAR at any distance (lesson 7), so its table is flat.
import { css, html, unsafeCSS, type TemplateResult } from 'lit';
import { state } from 'lit/decorators.js';
import * as Plot from '@observablehq/plot';
import type { HymbaConfig } from '../../engine/config.ts';
import { define } from '../lib/base/widget-base.ts';
import { LabWidget, numbersTable } from '../lib/base/lab-widget.ts';
import { pageController } from '../lib/page/engine-controller.ts';
import { HYMBA_PRESETS, layerKind, widgetConfig, type LayerKind } from '../lib/content/configs.ts';
import { CELL, CELL_NAMES, maskCells, visibleCount } from '../lib/content/masks.ts';
import { colourOf, seriesScale, type Meaning } from '../lib/base/palette.ts';
import { chartWidth, swatch } from '../lib/base/theme.ts';
import { codePanel } from '../lib/base/code-panel.ts';
import { maskViewSnippet } from '../lib/content/snippets.ts';
import type { Schema } from '../lib/base/url-state.ts';
import '../lib/base/heatmap.ts';
import { ZOO } from '../../engine/train/zoo.ts';

/** The card task whose accuracy by distance the chart draws (card.tasks[DISTANCE_TASK].by_distance). */
const DISTANCE_TASK = 'copy';
/** Zoo models whose cards carry accuracy by distance, and how the chart names them. */
const RECALL_MODELS = [
  { name: 'swa', label: 'swa: every layer windowed' },
  { name: 'hymba', label: `hymba: windows + ${globalLayerCount('hymba')} global layers` },
];

/** How many global-attention layers a zoo model has, read from its config so a legend cannot drift from the model. */
function globalLayerCount(name: string): number {
  const entry = ZOO.find((e) => e.name === name);
  if (!entry) throw new Error(`mask view: no zoo model named "${name}"`);
  const idx = entry.config.global_attn_idx;
  if (!Array.isArray(idx)) throw new Error(`mask view: zoo model "${name}" has no global_attn_idx list`);
  return idx.length;
}

/** Axis names of the mask's positions: the meta tokens first (M0, M1, …), then the text tokens by position. */
function positionNames(meta: number, tokens: number): string[] {
  return [...Array.from({ length: meta }, (_, i) => `M${i}`), ...Array.from({ length: tokens }, (_, i) => `t${i}`)];
}

/** At most this many meta tokens are drawn (Hymba-1.5B has 128; the pattern is the same for each). */
const MAX_META_SHOWN = 4;
const CELL_COLOURS = ['var(--hl-c-empty)', '#c9ced6', colourOf('window'), colourOf('meta'), colourOf('global')];
const CELL_COLOURS_CANVAS = ['#eef0f3', '#b5bcc6', colourOf('window'), colourOf('meta'), colourOf('global')];
/** The palette meaning of each cell kind that has one (the masked-out kinds are only shades of grey). */
const CELL_MEANINGS: (Meaning | undefined)[] = [undefined, undefined, 'window', 'meta', 'global'];
const KIND_TEXT: Record<LayerKind, string> = {
  global: 'global attention',
  swa: 'sliding window (owns its K/V)',
  consumer: 'sliding window (reuses K/V)',
  'ssm-only': 'no attention',
};

export interface RecallPoint {
  model: string;
  bucket: string;
  /** Lower edge of the distance bucket, for the x axis. */
  distance: number;
  accuracy: number;
  queries: number;
}

/** The distance table in a card: the first object whose keys are buckets ("0-16", "256+") with an accuracy each. */
export function findDistanceTable(card: unknown, depth = 0): Record<string, { accuracy: number; queries?: number }> | null {
  if (!card || typeof card !== 'object' || depth > 6) return null;
  const entries = Object.entries(card as Record<string, unknown>);
  const isBucket = (k: string, v: unknown) => /^\d+(-\d+|\+)$/.test(k) && typeof (v as { accuracy?: unknown })?.accuracy === 'number';
  if (entries.length > 0 && entries.every(([k, v]) => isBucket(k, v)))
    return card as Record<string, { accuracy: number; queries?: number }>;
  for (const [, v] of entries) {
    const found = findDistanceTable(v, depth + 1);
    if (found) return found;
  }
  return null;
}

export class HymbaMaskView extends LabWidget {
  static override styles = [
    LabWidget.styles,
    css`
      /* A tall figure: on a presenter slide it takes two of the slide's columns (theme.ts presenterStyles). */
      :host {
        --slide-columns: 2;
      }
      .layers {
        display: flex;
        flex-wrap: wrap;
        gap: 3px;
        margin: 0.5rem 0;
      }
      .layers button {
        min-width: 2.1rem;
        padding: 0.15rem 0.25rem;
        font-size: 0.75rem;
        border-width: 2px;
        color: #fff;
      }
      .layers button[aria-pressed='true'] {
        outline: 3px solid var(--hl-fg, #1d2126);
        outline-offset: 1px;
      }
      .layers button.consumer {
        background-image: repeating-linear-gradient(45deg, transparent 0 4px, rgba(255, 255, 255, 0.35) 4px 6px);
      }
      .layers button.ssm-only {
        background: ${unsafeCSS(colourOf('ssmOnly'))};
      }
      .mask-area {
        display: flex;
        flex-wrap: wrap;
        gap: 1rem;
        align-items: flex-start;
      }
      .summary {
        flex: 1 1 14rem;
      }
      /* On a slide, the mask and its summary flow into the slide's columns as two parts. */
      :host([presenter]) .mask-area {
        display: contents;
      }
      :host([presenter]) .mask-area > * {
        break-inside: avoid;
      }
    `,
  ];

  static override settings: Schema = {
    model: { kind: 'string', default: '', maxLength: 40, pattern: /^[A-Za-z0-9_-]*$/ },
    preset: { kind: 'enum', default: 'hymba-1.5b', values: HYMBA_PRESETS },
    window: { kind: 'number', default: 8, min: 1, max: 64, int: true },
    tokens: { kind: 'number', default: 24, min: 4, max: 64, int: true },
    meta: { kind: 'boolean', default: true },
    layer: { kind: 'number', default: 1, min: 0, max: 1023, int: true },
  };

  /** A zoo model (models/<name>/) whose config to draw; empty: the preset. */
  declare model: string;
  declare preset: string;
  /** The window W drawn (the real models use larger ones; small here so the pattern fits the screen). */
  declare window: number;
  /** Text tokens drawn. */
  declare tokens: number;
  /** Meta tokens on or off. */
  declare meta: boolean;
  /** The layer whose mask is drawn. */
  declare layer: number;

  @state() config: HymbaConfig | null = null;
  @state() private sourceNote = '';
  @state() private sourceLabel = '';
  /** The drawn mask: cells (see masks.ts), its side, and how many cells are visible. */
  cells: Uint8Array = new Uint8Array(0);
  side = 0;
  visibleCells = 0;
  metaShown = 0;
  recall: RecallPoint[] | null = null;
  private recallChart: Element | null = null;
  private recallKey = '';

  protected override async compute(): Promise<void> {
    const controller = pageController();
    const src = await widgetConfig(controller, this.model, this.preset);
    this.config = src.config;
    this.sourceNote = src.note;
    this.sourceLabel = src.label;
    const c = src.config;
    const layer = Math.min(this.layer, c.numLayers - 1);
    this.metaShown = this.meta ? Math.min(c.numMetaTokens, MAX_META_SHOWN) : 0;
    const spec = { global: c.layers[layer].global, meta: this.metaShown, tokens: this.tokens, window: this.window };
    this.cells = maskCells(spec);
    this.side = spec.meta + spec.tokens;
    this.visibleCells = visibleCount(this.cells);

    // The cards change only with the model set, not with the sliders: fetch once.
    if (this.recallKey !== 'loaded') {
      this.recall = await loadRecall();
      this.recallChart = this.recall ? plotRecall(this.recall, chartWidth(this, 520)) : null;
      this.recallKey = 'loaded';
    }
  }

  private set<K extends 'window' | 'tokens' | 'meta' | 'layer'>(name: K, value: this[K]): void {
    this[name] = value;
  }

  protected override renderBody(): TemplateResult {
    const c = this.config;
    if (!c) return html`<p class="note">Reading the model configuration…</p>`;
    const layer = Math.min(this.layer, c.numLayers - 1);
    const kind = layerKind(c, layer);
    const l = c.layers[layer];
    const n = this.side;
    const causal = (n * (n + 1)) / 2;
    return html`
      ${this.renderControls(c)}
      <div class="layers" role="group" aria-label="Layers: pick one to see its mask">
        ${c.layers.map((spec) => {
          const k = layerKind(c, spec.index);
          const colour = colourOf(k === 'global' ? 'global' : k === 'ssm-only' ? 'ssmOnly' : 'window');
          return html`<button
            type="button"
            class=${k}
            style="background-color:${colour};border-color:${colour}"
            aria-pressed=${spec.index === layer ? 'true' : 'false'}
            aria-label=${`layer ${spec.index}: ${KIND_TEXT[k]}${k === 'consumer' ? `, reuses layer ${spec.kvSource}` : ''}`}
            title=${`layer ${spec.index}: ${KIND_TEXT[k]}`}
            @click=${() => this.set('layer', spec.index)}
          >
            ${spec.index}
          </button>`;
        })}
      </div>
      <div class="legend">
        <span>${swatch('global')}global layer</span>
        <span>${swatch('window')}sliding-window layer</span>
        <span
          ><span
            class="swatch"
            data-meaning="reuse"
            style="background:repeating-linear-gradient(45deg,${colourOf('window')} 0 3px,transparent 3px 5px) ${colourOf('reuse')}"
          ></span
          >reuses a neighbour's K/V</span
        >
      </div>
      <div class="mask-area">
        <hl-heatmap
          .values=${this.cells}
          rows=${n}
          cols=${n}
          cell=${Math.max(4, Math.min(12, Math.floor(300 / n)))}
          label=${`attention mask of layer ${layer}, query rows by key columns`}
          row-label="query"
          col-label="key"
          .colourOf=${(v: number) => CELL_COLOURS_CANVAS[v]}
          .format=${(v: number) => CELL_NAMES[v]}
          .rowNames=${positionNames(this.metaShown, this.tokens)}
          .colNames=${positionNames(this.metaShown, this.tokens)}
          unit="query sees key?"
          .legendItems=${CELL_NAMES.map((label, i) => ({ colour: CELL_COLOURS[i], label, meaning: CELL_MEANINGS[i] }))}
        ></hl-heatmap>
        <div class="summary">
          <p>
            <strong>Layer ${layer}</strong>:
            ${KIND_TEXT[kind]}${kind === 'consumer' ? html`, attending with layer ${l.kvSource}'s keys and values` : ''}.
            ${
              l.global
                ? html`Every token sees every earlier token.`
                : html`Each token sees the ${this.metaShown ? 'meta tokens and the ' : ''}${this.window + 1} newest positions (q − k ≤
                  ${this.window}), itself included.`
            }
          </p>
          <p class="visible-count">
            <strong>${this.visibleCells}</strong> of ${causal} causal query–key pairs are visible
            (${((100 * this.visibleCells) / causal).toFixed(0)}%).
          </p>
          <p class="note">
            Rows are queries, columns keys; ${this.metaShown ? `the first ${this.metaShown} are meta tokens` : 'meta tokens are off'}.
            ${c.numMetaTokens > this.metaShown && this.meta ? `The model has ${c.numMetaTokens}; ${this.metaShown} are drawn.` : ''} The
            real window is ${c.slidingWindow} tokens (${this.sourceLabel}); here W = ${this.window} so the band fits the screen.
          </p>
          ${this.sourceNote ? html`<p class="note">${this.sourceNote}</p>` : ''}
        </div>
      </div>
      ${this.renderRecall()}
      ${numbersTable(this.queryRows(), ['query', 'visible keys', 'of which meta'], `visible keys per query in layer ${layer}`)}
      ${this.renderExports({
        rows: () => this.maskRows(),
        columns: ['layer', 'query', 'key', 'visible', 'why'],
        json: () => ({
          layer,
          window: this.window,
          meta: this.metaShown,
          tokens: this.tokens,
          visible: this.visibleCells,
          recall: this.recall,
          cells: this.maskRows(),
        }),
        svg: this.recallChart ? () => this.recallChart : undefined,
      })}
      ${this.isHidden('code') ? '' : codePanel(this.code(layer))}
    `;
  }

  private renderControls(c: HymbaConfig): TemplateResult {
    const slider = (name: 'window' | 'tokens', label: string, min: number, max: number) =>
      this.isHidden(name)
        ? ''
        : html`<label
            >${label}
            <input
              type="range"
              name=${name}
              min=${min}
              max=${max}
              .value=${String(this[name])}
              aria-valuetext=${`${this[name]} tokens`}
              @input=${(e: Event) => this.set(name, Number((e.target as HTMLInputElement).value))}
            /><output>${this[name]}</output></label
          >`;
    return html`<div class="controls">
      ${slider('window', 'Window W', 1, 64)} ${slider('tokens', 'Tokens', 4, 64)}
      ${
        this.isHidden('meta') || c.numMetaTokens === 0
          ? ''
          : html`<label
              ><input
                type="checkbox"
                name="meta"
                .checked=${this.meta}
                @change=${(e: Event) => this.set('meta', (e.target as HTMLInputElement).checked)}
              />
              Meta tokens</label
            >`
      }
    </div>`;
  }

  private renderRecall(): TemplateResult {
    if (!this.recall) {
      return html`<p class="note recall-missing">
        Copy accuracy by distance: distance data not available yet. It appears here once the zoo's <code>swa</code> and
        <code>hymba</code> models are trained (their <code>card.json</code> files).
      </p>`;
    }
    const rows = this.recall.map((r) => ({ ...r, accuracy: r.accuracy.toFixed(3) }));
    return html`<h4>Selective copying: accuracy by key→query distance</h4>
      <p class="note">
        Distance from each copied token to the marker where it is asked for; chance is 1 in 14. Measured on the
        <code>swa</code> and <code>hymba</code> cards (seed 1).
      </p>
      <div class="chart">${this.recallChart}</div>
      ${numbersTable(rows, ['model', 'bucket', 'accuracy', 'queries'], 'copy accuracy by distance')}`;
  }

  /** Per query: how many keys it sees (the text alternative of the heat map). */
  private queryRows() {
    const rows: { query: number; 'visible keys': number; 'of which meta': number }[] = [];
    for (let q = 0; q < this.side; q++) {
      let visible = 0;
      let meta = 0;
      for (let k = 0; k <= q; k++) {
        const v = this.cells[q * this.side + k];
        if (v !== CELL.outside && v !== CELL.future) visible++;
        if (v === CELL.meta) meta++;
      }
      rows.push({ query: q, 'visible keys': visible, 'of which meta': meta });
    }
    return rows;
  }

  /** Every query–key pair of the drawn mask, for export. */
  private maskRows() {
    const layer = Math.min(this.layer, (this.config?.numLayers ?? 1) - 1);
    const rows: { layer: number; query: number; key: number; visible: boolean; why: string }[] = [];
    for (let q = 0; q < this.side; q++) {
      for (let k = 0; k <= q; k++) {
        const v = this.cells[q * this.side + k];
        rows.push({ layer, query: q, key: k, visible: v !== CELL.outside && v !== CELL.future, why: CELL_NAMES[v] });
      }
    }
    return rows;
  }

  private code(layer: number): string {
    return maskViewSnippet({
      model: this.sourceNote ? '' : this.model,
      preset: this.preset,
      layer,
      meta: this.metaShown,
      tokens: this.tokens,
      window: this.window,
    });
  }
}

async function loadRecall(): Promise<RecallPoint[] | null> {
  const controller = pageController();
  const points: RecallPoint[] = [];
  for (const m of RECALL_MODELS) {
    // A broken card reads as "not available": the mask still teaches.
    const card = await controller.modelJson<{ tasks?: Record<string, unknown> }>(m.name, 'card.json').catch(() => null);
    const table = findDistanceTable(card?.tasks?.[DISTANCE_TASK]);
    if (!table) continue;
    for (const [bucket, v] of Object.entries(table)) {
      points.push({ model: m.label, bucket, distance: Number(bucket.split(/[-+]/)[0]), accuracy: v.accuracy, queries: v.queries ?? 0 });
    }
  }
  return points.length ? points : null;
}

function plotRecall(points: RecallPoint[], width: number): Element {
  return Plot.plot({
    width,
    height: 240,
    marginLeft: 45,
    x: { label: 'key→query distance (tokens, bucket start)', type: 'symlog' },
    y: { label: 'copy accuracy', domain: [0, 1], grid: true },
    // Two models, not two layer kinds: series colours, so they do not read as the layer legend's window and global.
    color: seriesScale(RECALL_MODELS.map((m) => m.label)),
    marks: [
      Plot.lineY(points, { x: 'distance', y: 'accuracy', stroke: 'model', strokeWidth: 2 }),
      Plot.dot(points, { x: 'distance', y: 'accuracy', fill: 'model', tip: true }),
    ],
  });
}

define('hymba-mask-view', HymbaMaskView);

declare global {
  interface HTMLElementTagNameMap {
    'hymba-mask-view': HymbaMaskView;
  }
}
