// <hymba-cache-meter preset="hymba-1.5b" compare="llama-3.2-3b" seq="8000" dtype="f16" window-rule="hf"
//                    model="hymba" tokens="64">
// The memory a generation holds, per layer and kind: KV caches (global layers grow with every token, sliding-window
// owners stop at W, layers that reuse a neighbour's K/V hold none), and the SSM heads' conv and recurrent states
// (constant). Live on a zoo model when one is on the site (a real decode session, its cacheUsage() after each
// token); otherwise the same numbers from the analytic calculator for the preset — the two are defined to agree.
// Below: cache bytes against sequence length for Hymba and the Transformer baselines, with the paper's numbers.
import { css, html, svg, type TemplateResult } from 'lit';
import { state } from 'lit/decorators.js';
import * as Plot from '@observablehq/plot';
import type { HymbaConfig } from '../../engine/config.ts';
import { cacheBytes, toCacheUsage, type CacheDtype } from '../../engine/cache/calculator.ts';
import { getPreset, type TransformerPreset } from '../../engine/presets.ts';
import type { CacheUsage, DecodeSession, SessionOptions, WindowRule } from '../../engine/session/types.ts';
import { argmax } from '../../engine/sampling.ts';
import { CpuEngine } from '../../engine/cpu/forward.ts';
import { define } from '../lib/base/widget-base.ts';
import { LabWidget, numbersTable } from '../lib/base/lab-widget.ts';
import { formatBytes, pageController, type LoadedModel } from '../lib/page/engine-controller.ts';
import { HYMBA_PRESETS, TRANSFORMER_PRESETS, layerKind, presetConfig } from '../lib/content/configs.ts';
import { NEUTRAL, colourOf, seriesScale } from '../lib/base/palette.ts';
import { chartWidth, fixedTextSize, swatch } from '../lib/base/theme.ts';
import { codePanel } from '../lib/base/code-panel.ts';
import { cacheMeterSnippet } from '../lib/content/snippets.ts';
import type { Schema } from '../lib/base/url-state.ts';

const MB = 1e6;
/** The paper's Table 2 point: 8k tokens (8,000), FP16. */
const PAPER_SEQ = 8000;
/** Tokens added by one press of "Generate": a live model decodes them one by one. */
const LIVE_STEP = 8;
const PRESET_STEP = 256;
/** A live session's prompt: BOS and a few fixed ids (the cache does not depend on which tokens they are). */
const PROMPT_LENGTH = 4;

type Convention = 'paper' | 'session';
interface CurvePoint {
  model: string;
  seq_len: number;
  mb: number;
}

/** A session-capable engine (CpuEngine.session, and the WebGPU engine's when it has one). */
type SessionEngine = { session?: (opts: SessionOptions) => DecodeSession | Promise<DecodeSession> };

/** The engine that decodes for the meter: the model's own, or a CPU engine on its weights when it has no sessions. */
const cpuFallbacks = new WeakMap<LoadedModel, CpuEngine>();
function sessionEngine(model: LoadedModel): SessionEngine {
  if ((model.engine as SessionEngine).session) return model.engine as SessionEngine;
  let cpu = cpuFallbacks.get(model);
  if (!cpu) cpuFallbacks.set(model, (cpu = new CpuEngine(model.checkpoint)));
  return cpu;
}

export class HymbaCacheMeter extends LabWidget {
  /** compute() checks its signal between calls (batches, tokens): Cancel stops it there. */
  static override cancellableCompute = true;

  static override styles = [
    LabWidget.styles,
    css`
      /* A tall figure: on a presenter slide it takes two of the slide's columns (theme.ts presenterStyles). */
      :host {
        --slide-columns: 2;
      }
      /* The meter keeps its drawn size (12 px labels) and scrolls on a narrow screen rather than shrinking its text. */
      .meter {
        overflow-x: auto;
      }
      .meter svg {
        display: block;
      }
      .meter text {
        font-size: 12px;
        fill: currentColor;
      }
      .headline {
        font-size: 1.05rem;
        margin: 0.5rem 0;
      }
      h4 {
        margin: 1rem 0 0.25rem;
      }
    `,
  ];

  static override settings: Schema = {
    model: { kind: 'string', default: '', maxLength: 40, pattern: /^[A-Za-z0-9_-]*$/ },
    preset: { kind: 'enum', default: 'hymba-1.5b', values: HYMBA_PRESETS },
    compare: { kind: 'string', default: 'llama-3.2-3b', maxLength: 200, pattern: /^[a-z0-9.,-]*$/ },
    seq: { kind: 'number', default: PAPER_SEQ, min: 1, max: 131072, int: true },
    dtype: { kind: 'enum', default: 'f16', values: ['f16', 'bf16', 'f32'] },
    windowRule: { kind: 'enum', default: 'hf', values: ['hf', 'prefill'] },
    convention: { kind: 'enum', default: 'paper', values: ['paper', 'session'] },
    tokens: { kind: 'number', default: 64, min: 0, max: 8192, int: true },
    window: { kind: 'number', default: 0, min: 0, max: 65536, int: true },
  };

  /** A zoo model to generate with live (models/<name>/); empty or missing: the preset, analytically. */
  declare model: string;
  declare preset: string;
  /** Transformer presets to compare against, comma separated. */
  declare compare: string;
  /** The sequence length where the comparison is read. */
  declare seq: number;
  declare dtype: CacheDtype;
  declare windowRule: WindowRule;
  /** paper: KV + a 4-tap FP16 conv state (reproduces 78.6 MB); session: what Hymba Lab's session holds. */
  declare convention: Convention;
  /** Text tokens held by the per-layer meter (prompt + generated). */
  declare tokens: number;
  /** Sliding window of the per-layer meter; 0 = the model's. */
  declare window: number;

  /** What the per-layer meter shows: the live session's usage or the calculator's. */
  @state() usage: CacheUsage | null = null;
  @state() config: HymbaConfig | null = null;
  /** 'live' when a decode session produced `usage`, else 'analytic'. */
  @state() source: 'live' | 'analytic' = 'analytic';
  @state() private sourceNote = '';
  curves: CurvePoint[] = [];
  private curveChart: Element | null = null;
  private live: { key: string; session: DecodeSession; model: LoadedModel } | null = null;
  /** Set when the requested tokens exceed the live model's positions: the meter stopped at this many. */
  private liveCap: number | null = null;

  protected override async compute(signal: AbortSignal): Promise<void> {
    const controller = pageController();
    let live: LoadedModel | null = null;
    this.sourceNote = '';
    this.tierNote = '';
    if (this.model) {
      if (await controller.exists(this.model)) {
        const stop = controller.onProgress(this.model, (p) => (this.progress = p));
        try {
          live = await controller.load(this.model);
        } finally {
          stop();
          this.progress = null;
        }
        this.tierNote = live.note;
      } else {
        this.sourceNote = `Waiting for a model: “${this.model}” is not on this site yet (${controller.modelUrl(this.model)}). Until it is trained, the meter shows the ${this.preset} preset, computed from its config.`;
      }
    }
    const config = live ? live.checkpoint.config : presetConfig(this.preset);
    this.config = config;
    const window = this.window || config.slidingWindow;
    if (live) {
      if (!(live.engine as SessionEngine).session) {
        this.tierNote =
          `${live.note ? live.note + ' ' : ''}Decoding on the CPU reference engine: the ${live.tier} engine in this build has no decode session.`.trim();
      }
      this.usage = await controller.run(`${this.model}|meter|${this.windowRule}|${window}|${this.tokens}|${this.id}`, () =>
        this.advanceLive(live!, window, signal),
      );
      this.source = 'live';
    } else {
      this.usage = toCacheUsage(cacheBytes(config, { seqLen: this.tokens, dtype: this.dtype, windowRule: this.windowRule, window }));
      this.source = 'analytic';
    }
    this.curves = this.computeCurves();
    this.curveChart = this.plotCurves();
  }

  /** Bring the live session to `tokens` text tokens: reuse it while only `tokens` grows, else start over. */
  private async advanceLive(model: LoadedModel, window: number, signal: AbortSignal): Promise<CacheUsage> {
    const key = `${model.name}|${this.windowRule}|${window}`;
    const maxContext = Math.min(8192, model.checkpoint.config.maxPositionEmbeddings);
    // A model cannot go past its positions: the live meter stops there (and says so) rather than failing.
    const tokens = Math.min(this.tokens, maxContext);
    this.liveCap = tokens < this.tokens ? maxContext : null;
    if (!this.live || this.live.key !== key || this.live.model !== model || this.live.session.length > tokens) {
      this.live?.session.dispose();
      const opts: SessionOptions = { windowRule: this.windowRule, window, maxContext };
      const session = await sessionEngine(model).session!(opts);
      this.live = { key, session, model };
    }
    const { session } = this.live;
    const c = model.checkpoint.config;
    let last: Float32Array | null = null;
    if (session.length === 0 && tokens > 0) {
      const prompt = [c.bosTokenId, ...Array.from({ length: PROMPT_LENGTH - 1 }, (_, i) => 3 + (i % Math.max(1, c.vocabSize - 3)))].slice(
        0,
        tokens,
      );
      last = (await session.prefill(prompt)).logits;
    }
    // Cancel stops between tokens and throws, so the page's result cache keeps no partial answer: the meter stays on
    // its previous reading, and the next run goes on from the length the session reached.
    while (session.length < tokens) {
      signal.throwIfAborted();
      // Greedy decoding: the next token is the most likely one. Which tokens they are does not change the cache size.
      const next = last ? argmax(last) : c.bosTokenId;
      last = (await session.step(next)).logits;
      this.reportProgress(signal, { what: 'Decoding token by token', done: session.length, total: tokens, unit: 'tokens' });
    }
    return session.cacheUsage();
  }

  private compareNames(): string[] {
    return this.compare
      .split(',')
      .map((s) => s.trim())
      .filter((s) => TRANSFORMER_PRESETS.includes(s));
  }

  /** Hymba's bytes at `seqLen` under the chosen convention. */
  private hymbaBytes(config: HymbaConfig, seqLen: number): number {
    if (this.convention === 'paper') {
      const b = cacheBytes(config, { seqLen, dtype: this.dtype, windowRule: this.windowRule, stateDtype: 'f16', convTaps: 4 });
      return b.kv_bytes + b.conv_state_bytes; // the paper's 78.6 MB leaves the SSM state out (docs/cache.md)
    }
    return cacheBytes(config, { seqLen, dtype: this.dtype, windowRule: this.windowRule }).total_bytes;
  }

  private transformerBytes(name: string, seqLen: number): number {
    return cacheBytes(getPreset(name) as TransformerPreset, { seqLen, dtype: this.dtype }).total_bytes;
  }

  private computeCurves(): CurvePoint[] {
    const config = presetConfig(this.preset);
    const xMax = Math.max(2 * this.seq, 16000);
    const xs = Array.from({ length: 41 }, (_, i) => Math.round((i / 40) * xMax));
    const points: CurvePoint[] = xs.map((x) => ({ model: this.preset, seq_len: x, mb: this.hymbaBytes(config, x) / MB }));
    for (const name of this.compareNames())
      for (const x of xs) points.push({ model: name, seq_len: x, mb: this.transformerBytes(name, x) / MB });
    return points;
  }

  private plotCurves(): Element {
    const names = [this.preset, ...this.compareNames()];
    const paper = [
      {
        model: this.preset,
        seq_len: PAPER_SEQ,
        mb: getPreset(this.preset).paperCacheMB ?? NaN,
        label: `paper: ${getPreset(this.preset).paperCacheMB} MB`,
      },
      ...this.compareNames()
        .map((n) => getPreset(n))
        .filter((p) => p.paperCacheMB !== undefined)
        .map((p) => ({ model: p.name, seq_len: PAPER_SEQ, mb: p.paperCacheMB!, label: `paper: ${p.paperCacheMB} MB` })),
    ].filter((p) => Number.isFinite(p.mb));
    return Plot.plot({
      width: chartWidth(this, 640),
      height: this.presenter ? 230 : 280,
      // Room for the last tick ("16,000") in the slide's larger text.
      marginRight: this.presenter ? 30 : undefined,
      marginLeft: 55,
      x: { label: 'sequence length (tokens)', grid: true },
      y: { label: `cache (MB, ${this.dtype} KV)`, grid: true },
      // Models are plain series: their colours are none of the layer kinds' of the meter beside this chart.
      color: seriesScale(names),
      marks: [
        Plot.lineY(this.curves, { x: 'seq_len', y: 'mb', stroke: 'model', strokeWidth: 2 }),
        Plot.ruleX([this.seq], { stroke: NEUTRAL, strokeDasharray: '4 3' }),
        Plot.dot(paper, { x: 'seq_len', y: 'mb', stroke: 'model', r: 5, strokeWidth: 2 }),
        // Labels for the headline pair only: the other paper points sit too close together to label legibly.
        Plot.text(paper.slice(0, 2), { x: 'seq_len', y: 'mb', text: 'label', dx: 8, textAnchor: 'start', dy: -8 }),
      ],
    });
  }

  private set<K extends keyof this>(name: K, value: this[K]): void {
    this[name] = value;
  }

  protected override renderBody(): TemplateResult {
    const c = this.config;
    const u = this.usage;
    if (!c || !u) return html`<p class="note">Preparing the cache meter…</p>`;
    const window = this.window || c.slidingWindow;
    const step = this.source === 'live' ? LIVE_STEP : PRESET_STEP;
    const maxTokens = this.source === 'live' ? Math.min(1024, c.maxPositionEmbeddings) : 8192;
    return html`
      <div class="controls">
        ${
          this.isHidden('tokens')
            ? ''
            : html`<button
                  type="button"
                  name="generate"
                  ?disabled=${this.tokens + step > maxTokens}
                  @click=${() => this.set('tokens', Math.min(maxTokens, this.tokens + step))}
                >
                  Generate ${step} more tokens
                </button>
                <button type="button" name="reset" @click=${() => this.set('tokens', 0)}>Reset</button>`
        }
        ${
          this.isHidden('windowRule')
            ? ''
            : html`<label
                >Window rule
                <select
                  name="windowRule"
                  .value=${this.windowRule}
                  @change=${(e: Event) => this.set('windowRule', (e.target as HTMLSelectElement).value as WindowRule)}
                >
                  <option value="hf">hf (decode: W newest)</option>
                  <option value="prefill">prefill (W + 1 newest)</option>
                </select></label
              >`
        }
        ${
          this.isHidden('dtype')
            ? ''
            : html`<label
                >KV dtype
                <select
                  name="dtype"
                  .value=${this.dtype}
                  @change=${(e: Event) => this.set('dtype', (e.target as HTMLSelectElement).value as CacheDtype)}
                >
                  <option>f16</option>
                  <option>bf16</option>
                  <option>f32</option>
                </select></label
              >`
        }
      </div>
      <p class="headline" aria-live="polite">
        After <strong class="tokens">${this.source === 'live' ? this.tokens : this.tokens.toLocaleString('en')}</strong> tokens the cache
        holds <strong class="total">${formatBytes(u.total_bytes)}</strong>: KV ${formatBytes(u.kv_bytes)}, conv state
        ${formatBytes(u.conv_state_bytes)}, SSM state ${formatBytes(u.ssm_state_bytes)}.
      </p>
      <p class="note source">
        ${
          this.source === 'live'
            ? `Live: a decode session on the zoo model “${this.model}” generated these tokens; these are its cacheUsage() numbers.${
                this.liveCap !== null ? ` (Stopped at ${this.liveCap} tokens: the model has no positions beyond that.)` : ''
              }`
            : `Computed from the ${this.preset} config (the engine's cache calculator, which a live session's numbers equal). W = ${window}.`
        }
      </p>
      ${this.sourceNote ? html`<p class="note">${this.sourceNote}</p>` : ''}
      <div class="meter">${this.renderMeter(c, u, window)}</div>
      <div class="legend">
        <span>${swatch('global')}KV, global layer (grows every token)</span>
        <span>${swatch('window')}KV, window owner (stops at W)</span>
        <span>${swatch('conv')}conv state</span>
        <span>${swatch('ssm')}SSM state</span>
        <span>↰ reuses the K/V of the layer it points to · ◔ window ring fill</span>
      </div>
      ${numbersTable(this.layerRows(), ['layer', 'kind', 'kv_source', 'kv_entries', 'kv_bytes', 'conv_state_bytes', 'ssm_state_bytes'], 'cache bytes per layer')}
      <h4>Cache size against sequence length</h4>
      ${this.renderComparison()}
      <div class="chart">${this.curveChart}</div>
      ${numbersTable(
        this.curves.map((p) => ({ ...p, mb: p.mb.toFixed(2) })),
        ['model', 'seq_len', 'mb'],
        'cache MB by sequence length',
      )}
      ${this.renderExports({
        rows: () => this.layerRows(),
        columns: ['layer', 'kind', 'kv_source', 'kv_entries', 'kv_bytes', 'conv_state_bytes', 'ssm_state_bytes'],
        json: () => ({ tokens: this.tokens, source: this.source, usage: this.usage, curves: this.curves }),
        svg: () => this.curveChart,
      })}
      ${this.isHidden('code') ? '' : codePanel(this.code(window))}
    `;
  }

  private renderComparison(): TemplateResult {
    const config = presetConfig(this.preset);
    const hymba = this.hymbaBytes(config, this.seq);
    const rows = this.compareNames().map((n) => {
      const t = this.transformerBytes(n, this.seq);
      return html`<li>
        ${n}: <strong>${(t / MB).toFixed(1)} MB</strong>, <strong class="ratio">${(t / hymba).toFixed(2)}×</strong> ${this.preset}'s
      </li>`;
    });
    return html`<p>
        At ${this.seq.toLocaleString('en')} tokens (${this.dtype} KV;
        ${this.convention === 'paper' ? 'paper convention: KV + a 4-tap FP16 conv state, no SSM state' : "Hymba Lab's session: f32 conv (3 taps) and SSM state"}),
        ${this.preset} holds <strong class="hymba-mb">${(hymba / MB).toFixed(2)} MB</strong>.
      </p>
      <ul>
        ${rows}
      </ul>`;
  }

  /**
   * One row per layer: label, stacked bar (KV, conv, SSM), an arrow to the owner for consumers, a ring for windows. On
   * a presenter slide, drawn larger (fixed-text), with shorter bars and the first 16 layers (a layer reuses the K/V of
   * an earlier one, so every arrow stays inside), and a note naming the layers left out.
   */
  private renderMeter(c: HymbaConfig, u: CacheUsage, window: number): TemplateResult {
    const { shown, note } = this.presenterLimit(u.layers.length, 16, 'layers');
    const layers = u.layers.slice(0, shown);
    const rowH = 18;
    const labelW = 100;
    const barW = this.presenter ? 150 : 330;
    const ringX = labelW + barW + 20;
    const width = ringX + 115;
    const height = layers.length * rowH + 6;
    const totals = u.layers.map((l) => l.kv_bytes + l.conv_state_bytes + l.ssm_state_bytes);
    const meta = c.numMetaTokens;
    const keep = this.windowRule === 'hf' ? window : window + 1;
    // A fixed scale while generating: at least the largest layer at twice the window, so bars visibly grow.
    const perEntry = (l: (typeof u.layers)[number]) => (l.kvEntries ? l.kv_bytes / l.kvEntries : 0);
    const refScale = Math.max(...u.layers.map((l) => perEntry(l) * (meta + 2 * keep) + l.conv_state_bytes + l.ssm_state_bytes));
    const scale = barW / Math.max(1, ...totals, refScale);
    const y = (i: number) => 3 + i * rowH;
    return html`<svg
        style=${fixedTextSize(width, this.presenter)}
        viewBox="0 0 ${width} ${height}"
        width=${width}
        height=${height}
        role="img"
        aria-label=${`cache bytes per layer after ${this.tokens} tokens`}
      >
        <defs>
          <marker id="arrow" viewBox="0 0 6 6" refX="5" refY="3" markerWidth="5" markerHeight="5" orient="auto-start-reverse">
            <path d="M0,0 L6,3 L0,6 z" fill="currentColor"></path>
          </marker>
        </defs>
        ${layers.map((l, i) => {
          const kind = layerKind(c, l.layer);
          const kvColour = colourOf(kind === 'global' ? 'global' : 'window');
          const kvW = l.kv_bytes * scale;
          const convW = l.conv_state_bytes * scale;
          const ssmW = l.ssm_state_bytes * scale;
          const ringFill = kind === 'swa' ? Math.min(1, Math.max(0, l.kvEntries - meta) / keep) : 0;
          const r = 5;
          const circ = 2 * Math.PI * r;
          const label = `L${l.layer} ${kind === 'ssm-only' ? 'ssm' : kind}`;
          return svg`<g class="layer" data-layer=${l.layer} data-kind=${kind} data-kv-bytes=${l.kv_bytes}>
          <title>${`layer ${l.layer} (${kind}): KV ${formatBytes(l.kv_bytes)} (${l.kvEntries} entries), conv ${formatBytes(l.conv_state_bytes)}, SSM ${formatBytes(l.ssm_state_bytes)}`}</title>
          <text x=${labelW - 6} y=${y(i) + 13} text-anchor="end">${label}</text>
          <rect x=${labelW} y=${y(i) + 1} width=${kvW} height=${rowH - 4} fill=${kvColour}></rect>
          <rect x=${labelW + kvW} y=${y(i) + 1} width=${convW} height=${rowH - 4} fill=${colourOf('conv')}></rect>
          <rect x=${labelW + kvW + convW} y=${y(i) + 1} width=${ssmW} height=${rowH - 4} fill=${colourOf('ssm')}></rect>
          ${
            kind === 'consumer'
              ? svg`<path d=${`M ${labelW + 3} ${y(i) + 8} C ${labelW + 16} ${y(i) + 8}, ${labelW + 16} ${y(l.kvSource) + 8}, ${labelW + 3} ${y(l.kvSource) + 8}`}
                fill="none" stroke="currentColor" stroke-width="1" marker-end="url(#arrow)"></path>
                <text x=${labelW + 20} y=${y(i) + 13}>uses L${l.kvSource}</text>`
              : ''
          }
          ${
            kind === 'swa'
              ? svg`<circle cx=${ringX} cy=${y(i) + 8} r=${r} fill="none" stroke="var(--hl-c-empty)" stroke-width="3"></circle>
                <circle class="ring" cx=${ringX} cy=${y(i) + 8} r=${r} fill="none" stroke=${colourOf('window')} stroke-width="3"
                  stroke-dasharray=${`${ringFill * circ} ${circ}`} transform=${`rotate(-90 ${ringX} ${y(i) + 8})`}></circle>
                <text x=${ringX + 10} y=${y(i) + 13}>${Math.round(ringFill * 100)}%</text>`
              : ''
          }
          ${kind === 'global' ? svg`<text x=${ringX - 6} y=${y(i) + 13}>+${formatBytes(perEntry(l))}/token</text>` : ''}
        </g>`;
        })}</svg
      >${note ? html`<p class="note presenter-limit">${note}</p>` : ''}`;
  }

  layerRows() {
    const c = this.config;
    return (this.usage?.layers ?? []).map((l) => ({
      layer: l.layer,
      kind: c ? layerKind(c, l.layer) : l.attention,
      kv_source: l.kvSource,
      kv_entries: l.kvEntries,
      kv_bytes: l.kv_bytes,
      conv_state_bytes: l.conv_state_bytes,
      ssm_state_bytes: l.ssm_state_bytes,
    }));
  }

  private code(window: number): string {
    return cacheMeterSnippet({
      preset: this.preset,
      compare: this.compareNames()[0] ?? 'llama-3.2-3b',
      seq: this.seq,
      dtype: this.dtype,
      windowRule: this.windowRule,
      convention: this.convention,
      tokens: this.tokens,
      window,
      liveModel: this.source === 'live' ? this.model : '',
      bos: this.config?.bosTokenId ?? 1,
    });
  }
}

define('hymba-cache-meter', HymbaCacheMeter);

declare global {
  interface HTMLElementTagNameMap {
    'hymba-cache-meter': HymbaCacheMeter;
  }
}
