// <hymba-full-size layers="32" steps="32">
// Hymba-1.5B in the reader's browser, without its weights: the real config's sizes, its 32-layer map (3 global
// layers, 14 window layers that own a KV cache, 15 that reuse a neighbour's, the [16, 17, 18] triple), its cache
// next to Llama-3.2-3B at 1k / 8k / 32k tokens (the engine's calculator), and a decode-speed run on random bf16
// weights of the full size on this GPU. `layers` cuts the speed run to the first N layers (same widths) for slow
// GPUs and tests; the map and the table always show the full model.
import { css, html, svg, type TemplateResult } from 'lit';
import { state } from 'lit/decorators.js';
import type { HymbaConfig } from '../../engine/config.ts';
import { getPreset, type TransformerPreset } from '../../engine/presets.ts';
import { define, describeError } from '../lib/base/widget-base.ts';
import { getPageGpu } from '../lib/page/gpu.ts';
import { LabWidget } from '../lib/base/lab-widget.ts';
import { formatBytes } from '../lib/page/engine-controller.ts';
import { colourOf } from '../lib/base/palette.ts';
import { fixedTextSize, swatch } from '../lib/base/theme.ts';
import {
  cacheTable,
  hymba15bRaw,
  layerMap,
  parameterCount,
  reducedConfig,
  type CacheRow,
  type LayerCell,
} from '../lib/features/full-size-model.ts';
import { measureDecode, randomGpuEngine, type RandomEngine, type SpeedResult } from '../lib/features/full-size-engine.ts';
import type { Schema } from '../lib/base/url-state.ts';

const BASELINE = 'llama-3.2-3b';
/** 1k, 8k, 32k as the paper counts them (8k = 8,000 tokens). */
const LENGTHS = [1000, 8000, 32000] as const;

export class HymbaFullSize extends LabWidget {
  static override styles = [
    LabWidget.styles,
    css`
      /* A tall figure: on a presenter slide it takes two of the slide's columns (theme.ts presenterStyles). */
      :host {
        --slide-columns: 2;
      }
      /* The strip keeps its drawn size (12 px layer numbers) and scrolls on a narrow screen rather than shrinking. */
      .strip {
        overflow-x: auto;
      }
      .strip svg {
        display: block;
      }
      .strip text {
        font-size: 12px;
        fill: currentColor;
      }
      table.cache {
        border-collapse: collapse;
        margin: 0.5rem 0;
        font-variant-numeric: tabular-nums;
      }
      /* On a slide the table shares a column with the layer map: a little tighter. */
      :host([presenter]) table.cache {
        font-size: 0.8em;
      }
      table.cache th,
      table.cache td {
        padding: 0.2rem 0.6rem;
        border-bottom: 1px solid var(--hl-border, #d0d4da);
        text-align: right;
      }
      table.cache th:first-child,
      table.cache td:first-child {
        text-align: left;
      }
      dl.sizes {
        display: grid;
        grid-template-columns: max-content 1fr;
        gap: 0.1rem 1rem;
        margin: 0.5rem 0;
      }
      dl.sizes dt {
        color: var(--hl-muted, #5f6670);
      }
      dl.sizes dd {
        margin: 0;
      }
      .speed-result {
        font-size: 1.05rem;
      }
      .inline-error {
        border-left: 4px solid var(--hl-error, #c62828);
        padding: 0.4rem 0.75rem;
        background: var(--hl-error-bg, #fdecea);
      }
    `,
  ];

  /** Layers used by the speed run (the first N of the 32, same widths); the map and table always show 32. */
  declare layers: number;
  /** Decode steps timed by the speed run. */
  declare steps: number;

  static override settings: Schema = {
    layers: { kind: 'number', default: 32, min: 1, max: 32, int: true },
    steps: { kind: 'number', default: 32, min: 1, max: 512, int: true },
  };

  config: HymbaConfig | null = null;
  /** The 32 layers as drawn (tests read it). */
  @state() layerCells: LayerCell[] = [];
  /** The cache table as shown (tests read it). */
  @state() cacheRows: CacheRow[] = [];
  @state() params = 0;
  @state() speed: SpeedResult | null = null;
  @state() speedState: 'idle' | 'running' | 'done' | 'error' = 'idle';
  @state() speedMessage = '';

  /** The signal of the latest speed run: an older, cancelled one must not write its result over it. */
  private speedRun: AbortSignal | null = null;
  private randomEngine: (RandomEngine & { config: HymbaConfig }) | null = null;

  protected override async compute(): Promise<void> {
    const c = reducedConfig(hymba15bRaw(), 32);
    this.config = c;
    this.layerCells = layerMap(c);
    this.cacheRows = cacheTable(c, getPreset(BASELINE) as TransformerPreset, LENGTHS);
    this.params = parameterCount(c);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.randomEngine?.engine.dispose();
    this.randomEngine = null;
  }

  /** "Run N decode steps on random weights": the GPU random init once, then a timed decode. */
  private async runSpeed(): Promise<void> {
    if (this.speedState === 'running') return;
    this.speedState = 'running';
    this.speedMessage = 'Preparing random weights on the GPU…';
    this.speed = null;
    // The shared progress line (what, tokens done, time left) and its Cancel; Cancel keeps the tokens timed so far.
    const signal = this.beginWork('Preparing random weights on the GPU');
    this.speedRun = signal;
    signal.addEventListener('abort', () => {
      if (this.speedState === 'running') this.speedState = 'idle';
    });
    try {
      const layers = this.layers;
      if (!this.randomEngine || this.randomEngine.config.numLayers !== layers) {
        this.randomEngine?.engine.dispose();
        this.randomEngine = null;
        const gpu = await getPageGpu();
        const config = reducedConfig(hymba15bRaw(), layers);
        const made = await randomGpuEngine(gpu, config, (m) => {
          this.speedMessage = m;
          this.reportProgress(signal, { what: m.replace(/…$/, ''), done: 0, total: 0, unit: '' });
        });
        this.randomEngine = { config, ...made };
      }
      if (signal.aborted) return;
      const { engine, config } = this.randomEngine;
      this.speedMessage = `Decoding ${this.steps} tokens…`;
      const session = await engine.session({ maxContext: this.steps + 8 });
      try {
        const what = `Decoding ${this.steps} tokens (${config.numLayers} layers)`;
        const speed = await measureDecode(session, this.steps, config, {
          signal,
          onToken: (done, phase) =>
            this.reportProgress(signal, {
              what: phase === 'warm-up' ? `${what}: warm-up token` : what,
              done,
              total: this.steps,
              unit: 'tokens',
            }),
        });
        if (this.speedRun !== signal) return; // a newer run has started since this one was cancelled
        if (speed) this.speed = speed;
      } finally {
        session.dispose();
      }
      this.speedState = this.speed ? 'done' : 'idle';
      this.speedMessage = '';
    } catch (e) {
      if (signal.aborted) return;
      this.speedState = 'error';
      this.speedMessage = speedFailure(e);
    } finally {
      this.endWork(signal);
    }
  }

  protected override canResume(): boolean {
    return false; // the speed run is the reader's button, not compute()
  }

  protected override partialNote(): string {
    return 'The speed, if shown, rests on the tokens decoded before you cancelled.';
  }

  protected override renderBody(): TemplateResult {
    const c = this.config;
    if (!c) return html`<p class="note">Preparing…</p>`;
    const owners = this.layerCells.filter((l) => l.owner === l.layer).length;
    return html`
      <h4>Hymba-1.5B, from its config</h4>
      <dl class="sizes">
        <dt>Parameters</dt>
        <dd class="params">${(this.params / 1e9).toFixed(3)} B, ${formatBytes(this.params * 2)} in bf16</dd>
        <dt>Width</dt>
        <dd>${c.hiddenSize} (SSM and attention branches ${c.dInner}, MLP ${c.intermediateSize})</dd>
        <dt>Attention heads</dt>
        <dd>${c.numHeads} query, ${c.numKvHeads} key/value; head dims ${c.qkHeadDim} (Q, K) and ${c.layers[0].vHeadDim} (V)</dd>
        <dt>Layers</dt>
        <dd>
          ${c.numLayers}: ${this.layerCells.filter((l) => l.kind === 'global').length} global, the rest sliding window W =
          ${c.slidingWindow}
        </dd>
        <dt>Meta tokens</dt>
        <dd>${c.numMetaTokens}</dd>
        <dt>SSM state</dt>
        <dd>${c.dInner} channels × ${c.dState} per layer</dd>
      </dl>

      <h4>The layer map</h4>
      <div class="strip">${this.renderStrip()}</div>
      <div class="legend">
        <span>${swatch('global')}global (own KV, grows)</span>
        <span>${swatch('window')}window, owns KV</span>
        <span>${swatch('reuse')}window, reuses the KV on its left</span>
      </div>
      <p class="note owners">${owners} of ${c.numLayers} layers own a KV cache; ${c.numLayers - owners} reuse one.</p>

      <h4>The cache against Llama-3.2-3B</h4>
      <table class="cache">
        <thead>
          <tr>
            <th scope="col">tokens</th>
            <th scope="col">Llama-3.2-3B KV</th>
            <th scope="col">Hymba-1.5B KV</th>
            <th scope="col">Hymba SSM + conv state</th>
            <th scope="col">ratio (KV)</th>
          </tr>
        </thead>
        <tbody>
          ${this.cacheRows.map(
            (r) =>
              html`<tr data-tokens=${r.tokens}>
                <td>${r.tokens.toLocaleString('en')}</td>
                <td class="baseline">${mb(r.baselineKv)}</td>
                <td class="hymba">${mb(r.hymbaKv)}</td>
                <td>${mb(r.hymbaState)}</td>
                <td>${r.ratio.toFixed(1)}×</td>
              </tr>`,
          )}
        </tbody>
      </table>
      <p class="note">
        FP16, MB = 10⁶ bytes, one sequence. Hymba's SSM and conv state does not grow with the text. Hymba was trained up to
        ${c.maxPositionEmbeddings.toLocaleString('en')} tokens, so the 32,000 row is the cache's arithmetic, not a promise about quality.
      </p>

      <h4>Decode speed on this GPU</h4>
      <p>
        <button type="button" name="speed" ?disabled=${this.speedState === 'running'} @click=${() => void this.runSpeed()}>
          Run ${this.steps} decode steps on random weights
        </button>
        ${this.layers < 32 ? html`<span class="note">(first ${this.layers} of 32 layers)</span>` : ''}
      </p>
      <p class="note">
        Random weights produce gibberish; this measures speed only. Each token reads every weight once (${formatBytes(this.params * 2)} in
        bf16) plus the cache, so decoding is limited by memory bandwidth, not arithmetic.
      </p>
      ${this.renderSpeed()}
    `;
  }

  private renderSpeed(): TemplateResult | string {
    if (this.speedState === 'running' && !this.progressShown)
      return html`<p class="status-line" aria-live="polite">${this.speedMessage}</p>`;
    if (this.speedState === 'error') return html`<p class="inline-error speed-error" role="alert">${this.speedMessage}</p>`;
    const s = this.speed;
    if (!s) return '';
    const bandwidth = (s.bytesPerToken * s.tokensPerSecond) / 1e9;
    return html`<p class="speed-result" aria-live="polite">
        <strong class="ms">${s.msPerToken.toFixed(1)} ms</strong> per token,
        <strong class="tps">${s.tokensPerSecond.toFixed(1)}</strong> tokens/s over ${s.steps} steps (${s.layers}
        layers)${s.partial ? html`, <strong class="partial">partial: cancelled after ${s.steps} of ${this.steps} tokens</strong>` : ''}.
      </p>
      <p class="note">At least ${formatBytes(s.bytesPerToken)} read per token: an effective ${bandwidth.toFixed(1)} GB/s. ${s.note}</p>`;
  }

  /**
   * The 32 layers as one strip; on a presenter slide as two strips of 16 (layers 0–15, 16–31), drawn larger: no
   * layer reuses a KV across the cut, so every arc stays within its strip.
   */
  private renderStrip(): TemplateResult {
    const cells = this.layerCells;
    const w = 22;
    const gap = 3;
    const top = 30;
    const stripH = 78;
    const perStrip = this.presenter ? Math.ceil(cells.length / 2) : cells.length;
    const width = perStrip * (w + gap) + 10;
    const height = Math.ceil(cells.length / perStrip) * stripH;
    const x = (i: number) => 5 + (i % perStrip) * (w + gap);
    const y = (i: number) => top + Math.floor(i / perStrip) * stripH;
    const colour = (k: LayerCell['kind']) => colourOf(k === 'global' ? 'global' : k === 'swa' ? 'window' : 'reuse');
    return html`<svg
      style=${fixedTextSize(width, this.presenter)}
      viewBox="0 0 ${width} ${height}"
      width=${width}
      height=${height}
      role="img"
      aria-label="Hymba-1.5B's 32 layers by attention kind, with KV sharing arcs"
    >
      ${cells.map(
        (l) => svg`<g class="layer" data-layer=${l.layer} data-kind=${l.kind} data-owner=${l.owner}>
          <title>layer ${l.layer}: ${l.kind === 'global' ? 'global attention, own KV cache' : l.kind === 'swa' ? `window ${this.config!.slidingWindow}, owns the KV used by ${l.consumers.join(', ') || 'no other layer'}` : `window, reuses layer ${l.owner}'s KV`}</title>
          <rect x=${x(l.layer)} y=${y(l.layer)} width=${w} height="26" rx="3" fill=${colour(l.kind)}></rect>
          <text x=${x(l.layer) + w / 2} y=${y(l.layer) + 38} text-anchor="middle">${l.layer}</text>
        </g>`,
      )}
      ${cells
        .filter((l) => l.kind === 'consumer')
        .map((l) => {
          // An arc from the owner to each consumer: the pairs, and the one triple [16, 17, 18].
          const a = x(l.owner) + w / 2;
          const b = x(l.layer) + w / 2;
          const h = 8 + 6 * (l.layer - l.owner);
          const base = y(l.layer) - 2;
          return svg`<path class="share" d="M ${a} ${base} Q ${(a + b) / 2} ${base - h} ${b} ${base}" fill="none" stroke="currentColor" stroke-width="1" marker-end=""></path>`;
        })}
    </svg>`;
  }
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

function speedFailure(e: unknown): string {
  const name = (e as Error)?.name;
  if (name === 'WebGpuUnavailableError') return `The speed run needs WebGPU: ${describeError(e)} The map and the table above do not.`;
  if (name === 'GpuOutOfMemoryError') return `This GPU ran out of memory for the random weights (${describeError(e)}). Try fewer layers.`;
  return describeError(e);
}

define('hymba-full-size', HymbaFullSize);

declare global {
  interface HTMLElementTagNameMap {
    'hymba-full-size': HymbaFullSize;
  }
}
