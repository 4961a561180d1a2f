// <hymba-attention-map model="hymba" compare="parallel-swa-kv" prompt="…" text="…" layer="0" head="0" meta>
// Where attention goes, per layer and head, on a synthetic prompt or, for English models (model="en-hymba"
// compare="en-parallel-swa-kv"), on a sentence the reader types: the probabilities as a heat-map, and per head the share of each query's
// attention on the meta tokens, on the first real token, on itself and on the rest, plus the row entropy (the Hymba
// paper's Fig. 7 and Fig. 15 in miniature). Three runs of one prompt: the model with its meta tokens, the same model
// with the meta tokens removed, and a model trained without meta tokens.
import { css, html, type TemplateResult } from 'lit';
import { state } from 'lit/decorators.js';
import * as Plot from '@observablehq/plot';
import { interpolateViridis } from 'd3';
import type { Tensor } from '../../engine/tensor.ts';
import { attentionStats, meanOverHeads, type HeadAttentionStats } from '../../engine/analysis/attention-stats.ts';
import { define } from '../lib/base/widget-base.ts';
import { englishTextBox } from '../lib/base/english-text-box.ts';
import { LabWidget, numbersTable } from '../lib/base/lab-widget.ts';
import { pageController, requestKey, type LoadedModel } from '../lib/page/engine-controller.ts';
import { codePanel } from '../lib/base/code-panel.ts';
import { attentionMapSnippet } from '../lib/content/snippets.ts';
import type { Schema } from '../lib/base/url-state.ts';
import { MEANINGS, NEUTRAL, meaningScale, type Meaning } from '../lib/base/palette.ts';
import { chartWidth } from '../lib/base/theme.ts';
import '../lib/base/heatmap.ts';
import { DEFAULT_PROMPT, parsePrompt, sequenceLabels } from '../lib/content/stepper-tokens.ts';
import { DEFAULT_TEXT, MAX_TEXT_CHARS, TextError, isEnglishModel, textLabels, type EncodedText } from '../lib/content/english-tokens.ts';
import { encodeFor } from '../lib/page/english-tokenizer.ts';

/** One run of the prompt: which model, meta tokens on or off, and its attention probabilities per layer. */
export interface AttentionRun {
  /** e.g. "hymba", "hymba, meta off", "parallel-swa-kv". */
  label: string;
  model: string;
  numMeta: number;
  /** layer index → probabilities [H, N, N] (layers without attention are absent). */
  probs: Map<number, Tensor>;
  /** Per attention layer, per head. */
  layers: { layer: number; heads: HeadAttentionStats[] }[];
  /** Mean over every attention layer and head. */
  mean: HeadAttentionStats;
}

export interface AttentionMapStats {
  metaOn: AttentionRun;
  /** The same model with its meta tokens removed; null when it has none. */
  metaOff: AttentionRun | null;
  /** The comparison model; null when it is not set or not available. */
  compare: AttentionRun | null;
}

const CATEGORIES = ['meta', 'first', 'self', 'cross'] as const;
/** Each share's meaning in the site palette, which also gives its legend label. */
const CATEGORY_MEANING: Record<(typeof CATEGORIES)[number], Meaning> = { meta: 'meta', first: 'first', self: 'self', cross: 'other' };
const CATEGORY_SCALE = meaningScale(CATEGORIES.map((c) => CATEGORY_MEANING[c]));

/** Attention probabilities coloured by √p on a fixed [0, 1] scale, so maps of different runs compare directly. */
const probColour = (p: number) => interpolateViridis(Math.sqrt(Math.max(0, Math.min(1, p))));
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export class HymbaAttentionMap extends LabWidget {
  static override styles = [
    LabWidget.styles,
    css`
      /* A tall figure: on a presenter slide it takes two of the slide's columns (theme.ts presenterStyles). */
      :host {
        --slide-columns: 2;
      }
      .maps {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(200px, 1fr));
        gap: 1rem;
      }
      .maps figure {
        margin: 0;
      }
      .maps figcaption {
        font-size: 0.85rem;
        margin-bottom: 0.3rem;
      }
      h5 {
        margin: 1rem 0 0.25rem;
        font-size: 0.9rem;
      }
      .finding {
        border-left: 4px solid var(--hl-c-meta);
        padding: 0.3rem 0.7rem;
        margin: 0.75rem 0;
      }
      /* On a slide the heat map's axes name the tokens; the numbered list (its text alternative) stays on the page. */
      :host([presenter]) .tokens {
        display: none;
      }
      .tokens {
        /* a token id never wraps inside itself */
        overflow-wrap: normal;
        word-break: keep-all;
        font-size: 0.75rem;
        font-family: ui-monospace, Menlo, Consolas, monospace;
        color: var(--hl-muted, #5f6670);
      }
      /* On a slide the text box shares its line with its label: the maps get the height. */
      :host([presenter]) .prompt-input {
        flex: 1 1 10rem;
        min-width: 0;
      }
      .prompt-input {
        width: min(34rem, 100%);
        font-family: ui-monospace, Menlo, Consolas, monospace;
        font-size: 0.85rem;
      }
    `,
  ];

  static override settings: Schema = {
    model: { kind: 'string', default: 'hymba', maxLength: 40, pattern: /^[A-Za-z0-9_-]+$/ },
    compare: { kind: 'string', default: 'parallel-swa-kv', maxLength: 40, pattern: /^[A-Za-z0-9_-]*$/ },
    prompt: { kind: 'string', default: DEFAULT_PROMPT, maxLength: 2000, pattern: /^[kKvV_0-9 ,]*$/ },
    text: { kind: 'string', default: DEFAULT_TEXT, maxLength: MAX_TEXT_CHARS },
    layer: { kind: 'number', default: 0, min: 0, max: 1023, int: true },
    head: { kind: 'number', default: 0, min: 0, max: 1023, int: true },
    meta: { kind: 'boolean', default: true },
  };

  /** The model whose meta tokens are switched on and off. */
  declare model: string;
  /** A model trained without meta tokens, for comparison (empty: none). */
  declare compare: string;
  /** Token labels or ids: the input of synthetic-zoo models. */
  declare prompt: string;
  /** English text: the input of English models (en-*), tokenized into word pieces. */
  declare text: string;
  /** The layer and head drawn as a heat-map and in the per-head bars. */
  declare layer: number;
  declare head: number;
  /** Meta tokens on (true) or off in the heat-map of `model`. */
  declare meta: boolean;

  /** The numbers every chart here draws (tests and readers' code read them). */
  stats: AttentionMapStats | null = null;
  @state() private compareNote = '';
  /** Why the text cannot run (empty, too long), shown under the text box; the box stays to fix it in. */
  @state() private textError = '';
  /** The text as tokenized, when the model reads English (null for a synthetic prompt). */
  english: EncodedText | null = null;
  private ids: number[] = [];
  private vocab = 0;
  private headChart: Element | null = null;
  private entropyChart: Element | null = null;

  /** Meta on/off, layer and head only change what is drawn: the three runs are already computed. */
  protected override shouldRecompute(changed: Map<PropertyKey, unknown>): boolean {
    return changed.has('model') || changed.has('compare') || changed.has('prompt') || changed.has('text');
  }

  protected override async compute(): Promise<void> {
    const controller = pageController();
    const stop = controller.onProgress(this.model, (p) => (this.progress = p));
    let main: LoadedModel;
    let other: LoadedModel | null = null;
    try {
      main = await controller.load(this.model);
      this.compareNote = '';
      if (this.compare && this.compare !== this.model && isEnglishModel(this.compare) !== isEnglishModel(this.model)) {
        // English text means nothing to a synthetic-zoo model, nor MQAR ids to an English one.
        this.compareNote = `No comparison with “${this.compare}”: it reads ${isEnglishModel(this.compare) ? 'English' : 'synthetic token ids'}, ${this.model} does not.`;
      } else if (this.compare && this.compare !== this.model) {
        try {
          other = await controller.load(this.compare);
        } catch (e) {
          // The comparison is extra: without it the meta on/off runs still teach the lesson.
          this.compareNote = `No comparison with “${this.compare}”: ${(e as Error).message}`;
        }
      }
    } finally {
      stop();
      this.progress = null;
    }
    this.tierNote = main.note;
    this.vocab = main.engine.config.vocabSize;
    this.textError = '';
    let english: EncodedText | null = null;
    let ids: number[];
    if (isEnglishModel(this.model)) {
      try {
        english = await encodeFor(main, this.text);
      } catch (e) {
        if (!(e instanceof TextError)) throw e;
        this.textError = e.message;
        this.english = null;
        this.stats = null;
        return;
      }
      ids = english.ids;
    } else {
      ids = parsePrompt(this.prompt, this.vocab);
    }
    const metaOn = await this.run(main, ids, true);
    const metaOff = main.engine.config.numMetaTokens > 0 ? await this.run(main, ids, false) : null;
    const compare = other ? await this.run(other, ids, true) : null;
    // The labels, ids and runs change together, so a map is never drawn with another text's labels.
    this.ids = ids;
    this.english = english;
    this.stats = { metaOn, metaOff, compare };
    this.redrawCharts();
  }

  /** One forward pass with the attention probabilities of every layer, reduced to per-head statistics. */
  private async run(m: LoadedModel, ids: number[], meta: boolean): Promise<AttentionRun> {
    const taps = ['layers.*.attn.probs'];
    const result = await pageController().run(requestKey(m.name, 'attention-probs', { ids: ids.join(','), meta }), () =>
      m.engine.forward(ids, { meta, taps }),
    );
    const numMeta = meta ? m.engine.config.numMetaTokens : 0;
    const probs = new Map<number, Tensor>();
    const layers: AttentionRun['layers'] = [];
    for (const l of m.engine.config.layers) {
      const t = result.taps.get(`layers.${l.index}.attn.probs`);
      if (!t) continue;
      probs.set(l.index, t);
      layers.push({ layer: l.index, heads: attentionStats(t, { numMeta }) });
    }
    const label = !meta ? `${m.name}, meta off` : m.name;
    const all = layers.flatMap((l) => l.heads);
    return {
      label,
      model: m.name,
      numMeta,
      probs,
      layers,
      mean: all.length ? meanOverHeads(all) : { meta: 0, first: 0, self: 0, cross: 0, entropy: 0 },
    };
  }

  private get runs(): AttentionRun[] {
    const s = this.stats;
    return s ? [s.metaOn, s.metaOff, s.compare].filter((r): r is AttentionRun => r !== null) : [];
  }

  private redrawCharts(): void {
    this.headChart = this.plotHeads();
    this.entropyChart = this.plotEntropy();
    this.requestUpdate();
  }

  override updated(changed: Map<PropertyKey, unknown>): void {
    super.updated(changed as never);
    if (this.stats && (changed.has('layer') || changed.has('head'))) this.redrawCharts();
  }

  private attentionLayers(): number[] {
    return this.stats?.metaOn.layers.map((l) => l.layer) ?? [];
  }

  /** The layer drawn: the chosen one if it has attention, else the nearest that does. */
  private shownLayer(): number {
    const layers = this.attentionLayers();
    if (layers.includes(this.layer)) return this.layer;
    return layers.reduce((best, l) => (Math.abs(l - this.layer) < Math.abs(best - this.layer) ? l : best), layers[0] ?? 0);
  }

  /** Per head of the shown layer: stacked shares (meta / first / self / other) for each run. */
  private plotHeads(): Element | null {
    const layer = this.shownLayer();
    const data = this.runs.flatMap((run) => {
      const l = run.layers.find((x) => x.layer === layer);
      return (l?.heads ?? []).flatMap((h, head) =>
        CATEGORIES.map((c) => ({ run: run.label, head: `head ${head}`, category: MEANINGS[CATEGORY_MEANING[c]].label, share: h[c] })),
      );
    });
    if (data.length === 0) return null;
    return Plot.plot({
      width: chartWidth(this, 720),
      // The run names stand at -30°: on a slide, in larger text, they need more room below and to the left.
      height: this.presenter ? 200 : 240,
      marginBottom: this.presenter ? 115 : 60,
      marginLeft: this.presenter ? 150 : undefined,
      fx: { label: null },
      x: { label: null, tickRotate: -30, domain: this.runs.map((r) => r.label) },
      y: { label: 'share of attention', domain: [0, 1], percent: false, grid: true },
      color: CATEGORY_SCALE,
      marks: [Plot.barY(data, { fx: 'head', x: 'run', y: 'share', fill: 'category', tip: true }), Plot.ruleY([0])],
    });
  }

  /** Mean row entropy per layer (dots: single heads) for each run. */
  private plotEntropy(): Element | null {
    const runs = this.runs;
    const perHead = runs.flatMap((run) =>
      run.layers.flatMap((l) => l.heads.map((h, head) => ({ run: run.label, layer: `L${l.layer}`, head, entropy: h.entropy }))),
    );
    if (perHead.length === 0) return null;
    const perLayer = runs.flatMap((run) =>
      run.layers.map((l) => ({ run: run.label, layer: `L${l.layer}`, entropy: meanOverHeads(l.heads).entropy })),
    );
    return Plot.plot({
      width: chartWidth(this, 720),
      height: 220,
      marginBottom: 60,
      fx: { label: null },
      x: { label: null, tickRotate: -30, domain: runs.map((r) => r.label) },
      y: { label: 'entropy (nats)', grid: true },
      // The x axis names the run, so the marks need no colour per run (a second legend would reuse the shares' colours).
      marks: [
        Plot.barY(perLayer, { fx: 'layer', x: 'run', y: 'entropy', fill: NEUTRAL, fillOpacity: 0.6 }),
        Plot.dot(perHead, { fx: 'layer', x: 'run', y: 'entropy', stroke: 'currentColor', r: 2.5, tip: true }),
        Plot.ruleY([0]),
      ],
    });
  }

  protected override renderBody(): TemplateResult {
    const s = this.stats;
    if (!s) return html`${this.renderControls()} ${this.textError ? '' : html`<p class="note">Running the prompt…</p>`}`;
    const layer = this.shownLayer();
    const shownRun = this.meta || !s.metaOff ? s.metaOn : s.metaOff;
    return html`
      ${this.renderControls()}
      <div class="maps" ?data-result=${shownRun === s.metaOff}>
        ${this.renderMap(shownRun, layer)} ${s.compare ? this.renderMap(s.compare, layer) : ''}
      </div>
      <!-- data-result: what answers lesson 2's prediction (the run without meta tokens), hidden by <hl-predict> -->
      <div data-result>
        ${this.renderFinding()}
        <h5>Layer ${layer}: where each query's attention goes, per head</h5>
        <div class="chart heads">${this.headChart}</div>
        ${
          this.presenter
            ? html`<p class="note presenter-limit">
                On this slide: the maps and the head shares of layer ${layer}; the entropy per layer is on the lesson page.
              </p>`
            : html`<h5>Attention entropy per layer (bars: mean over heads; dots: single heads)</h5>
                <div class="chart entropy">${this.entropyChart}</div>`
        }
        ${this.compareNote ? html`<p class="note">${this.compareNote}</p>` : ''}
        ${numbersTable(this.rows(), ['run', 'layer', 'head', 'meta', 'first', 'self', 'cross', 'entropy'], 'attention shares and entropy per run, layer and head')}
      </div>
      ${this.renderExports({
        rows: () => this.rows(),
        columns: ['run', 'layer', 'head', 'meta', 'first', 'self', 'cross', 'entropy'],
        json: () => ({
          ...(this.english ? { text: this.english.text } : { prompt: this.prompt }),
          ids: this.ids,
          runs: this.runs.map(({ probs: _probs, ...r }) => r),
        }),
        svg: () => this.renderRoot.querySelector<SVGSVGElement>('.chart.heads svg[viewBox]'),
      })}
      ${this.isHidden('code') ? '' : codePanel(attentionMapSnippet({ model: this.model, ids: this.ids, layer: this.shownLayer() }))}
    `;
  }

  private renderControls(): TemplateResult {
    const layers = this.attentionLayers();
    const heads = this.stats?.metaOn.layers.find((l) => l.layer === this.shownLayer())?.heads.length ?? 0;
    const hasMeta = this.stats ? this.stats.metaOff !== null : true;
    return html`<div class="controls">
        ${
          this.isHidden('meta') || !hasMeta
            ? ''
            : html`<label
                ><input
                  type="checkbox"
                  name="meta"
                  .checked=${this.meta}
                  @change=${(e: Event) => (this.meta = (e.target as HTMLInputElement).checked)}
                />
                Meta tokens on (${this.model})</label
              >`
        }
        ${
          this.isHidden('layer') || layers.length === 0
            ? ''
            : html`<label
                >Layer
                <select name="layer" @change=${(e: Event) => (this.layer = Number((e.target as HTMLSelectElement).value))}>
                  ${layers.map((l) => html`<option value=${l} ?selected=${l === this.shownLayer()}>${l}</option>`)}
                </select></label
              >`
        }
        ${
          this.isHidden('head') || heads === 0
            ? ''
            : html`<label
                >Head
                <select name="head" @change=${(e: Event) => (this.head = Number((e.target as HTMLSelectElement).value))}>
                  ${Array.from({ length: heads }, (_, h) => html`<option value=${h} ?selected=${h === Math.min(this.head, heads - 1)}>${h}</option>`)}
                </select></label
              >`
        }
      </div>
      ${isEnglishModel(this.model) ? this.renderTextBox() : this.renderPromptBox()}`;
  }

  /** The English text box, what became of the text (<unk>), and why it cannot run when it cannot. */
  private renderTextBox(): TemplateResult | string {
    if (this.isHidden('text')) return '';
    return englishTextBox({
      value: this.text,
      help: html`. It is read as word pieces after <code>&lt;s&gt;</code>, the first token: a column that draws attention from every row
        there is an attention sink.`,
      unknown: this.english?.unknown,
      error: this.textError,
      errorClass: 'text-error',
      onChange: (text) => (this.text = text),
    });
  }

  private renderPromptBox(): TemplateResult | string {
    return html`${
      this.isHidden('prompt')
        ? ''
        : html`<label class="controls"
            >Prompt
            <input
              class="prompt-input"
              name="prompt"
              .value=${this.prompt}
              spellcheck="false"
              @change=${(e: Event) => (this.prompt = (e.target as HTMLInputElement).value.trim())}
          /></label>`
    }`;
  }

  private renderMap(run: AttentionRun, layer: number): TemplateResult {
    const t = run.probs.get(layer);
    if (!t) return html`<figure><figcaption>${run.label}: layer ${layer} has no attention.</figcaption></figure>`;
    const [H, N] = t.shape;
    const head = Math.min(this.head, H - 1);
    const st = run.layers.find((l) => l.layer === layer)!.heads[head];
    const labels = this.english ? textLabels(this.english.pieces, run.numMeta) : sequenceLabels(this.ids, run.numMeta, this.vocab);
    return html`<figure data-run=${run.label}>
      <figcaption>
        <strong>${run.label}</strong>, layer ${layer}, head ${head}${mapColumns(run.numMeta, this.english !== null)}. Meta ${pct(st.meta)},
        first token ${pct(st.first)}, self ${pct(st.self)}, entropy ${st.entropy.toFixed(2)} nats.
      </figcaption>
      <hl-heatmap
        .values=${t.data.subarray(head * N * N, (head + 1) * N * N)}
        rows=${N}
        cols=${N}
        cell=${Math.max(3, Math.min(10, Math.floor((this.presenter ? 120 : 300) / N)))}
        label=${`attention probabilities of ${run.label}, layer ${layer}, head ${head}: query rows by key columns`}
        row-label="query"
        col-label="key"
        .colourOf=${probColour}
        .rowNames=${labels}
        .colNames=${labels}
        unit="attention probability (0–1, square-root colour scale)"
      ></hl-heatmap>
      <p class="tokens">${labels.map((l, i) => `${i}:${l}`).join(' ')}</p>
    </figure>`;
  }

  /** What switching the meta tokens off did, in numbers from this run (never a fixed claim). */
  private renderFinding(): TemplateResult {
    const s = this.stats!;
    if (!s.metaOff) return html`<p class="finding">${this.model} has no meta tokens, so there is nothing to switch off.</p>`;
    const on = s.metaOn.mean;
    const off = s.metaOff.mean;
    const moved = off.first - on.first;
    return html`<p class="finding" data-finding>
      Averaged over all ${s.metaOn.layers.length} attention layers and their heads: with meta tokens, ${pct(on.meta)} of each query's
      attention lands on the meta tokens and ${pct(on.first)} on the first real token. With them removed, the first real token gets
      ${pct(off.first)} (${moved >= 0 ? 'up' : 'down'} ${pct(Math.abs(moved))}), self ${pct(on.self)} → ${pct(off.self)}, other tokens
      ${pct(on.cross)} → ${pct(off.cross)}; mean entropy ${on.entropy.toFixed(2)} → ${off.entropy.toFixed(2)} nats.
      ${s.compare ? html`${s.compare.label}, trained without meta tokens, puts ${pct(s.compare.mean.first)} on the first token (entropy ${s.compare.mean.entropy.toFixed(2)}).` : ''}
    </p>`;
  }

  private rows(): Record<string, unknown>[] {
    const f = (x: number) => Number(x.toFixed(4));
    return this.runs.flatMap((run) =>
      run.layers.flatMap((l) =>
        l.heads.map((h, head) => ({
          run: run.label,
          layer: l.layer,
          head,
          meta: f(h.meta),
          first: f(h.first),
          self: f(h.self),
          cross: f(h.cross),
          entropy: f(h.entropy),
        })),
      ),
    );
  }
}

/** What the first columns of a map are: the meta tokens, and for English text `<s>` (where a sink would form). */
function mapColumns(numMeta: number, english: boolean): string {
  if (numMeta) return `: the first ${numMeta} columns are meta tokens${english ? ', then <s>' : ''}`;
  return english ? ': no meta tokens; the first column is <s>' : ': no meta tokens';
}

define('hymba-attention-map', HymbaAttentionMap);

declare global {
  interface HTMLElementTagNameMap {
    'hymba-attention-map': HymbaAttentionMap;
  }
}
