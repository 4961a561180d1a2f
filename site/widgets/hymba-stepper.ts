// <hymba-stepper model="hymba" prompt="k17 v301 … k5" text="The man said …" layer="0" head="0" step="0">
// One forward pass of a zoo model, one op at a time (Engine.steps()), on a synthetic prompt or, for an English model
// (model="en-hymba"), on a sentence the reader types: each op's tensor as a heat-map with hover values, the op lit up in a diagram of the Hymba layer, the attention and SSM branches of the layer side by side,
// the β-normalised fusion and the residual stream. Space / → runs the next op, ← shows the previous one again (its
// tensors were read when it ran), Home goes back to the first op. After LLM Visualization's walkthrough: see every
// number, one step at a time.
import { css, html, unsafeCSS, type PropertyValues, type TemplateResult } from 'lit';
import { state } from 'lit/decorators.js';
import type { Step } from '../../engine/model.ts';
import type { Tensor } from '../../engine/tensor.ts';
import { weightF32 } from '../../engine/checkpoint/load.ts';
import { define } from '../lib/base/widget-base.ts';
import { englishTextBox } from '../lib/base/english-text-box.ts';
import { LabWidget } from '../lib/base/lab-widget.ts';
import { pageController, type LoadedModel } from '../lib/page/engine-controller.ts';
import { codePanel } from '../lib/base/code-panel.ts';
import type { Schema } from '../lib/base/url-state.ts';
import { colourOf } from '../lib/base/palette.ts';
import '../lib/base/heatmap.ts';
import { DEFAULT_PROMPT, parsePrompt, sequenceLabels, tokenLabel } from '../lib/content/stepper-tokens.ts';
import { blockDiagram, boxesOf, describeOp } from '../lib/content/stepper-diagram.ts';
import { STEP_TAPS, queriesOf, stepperSnippet } from '../lib/content/stepper-snippets.ts';
import { ENGLISH_ZOO, ZOO_NAMES } from '../../engine/train/zoo.ts';
import {
  DEFAULT_TEXT,
  MAX_TEXT_CHARS,
  TextError,
  isEnglishModel,
  textLabels,
  topNext,
  type EncodedText,
} from '../lib/content/english-tokens.ts';
import { encodeFor, englishTokenizer } from '../lib/page/english-tokenizer.ts';
import type { Tokenizer } from '../../engine/tokenizer/tokenizer.ts';

/**
 * The zoo models a reader can pick (models/<name>/): Hymba first, then back along the roadmap (engine/train/zoo.ts),
 * the synthetic zoo and then the English one.
 */
const PICKABLE_MODELS = [...[...ZOO_NAMES].reverse(), ...ENGLISH_ZOO.map((e) => e.name).reverse()];

/** One op that has run: its tensors as read right after it ran, so stepping back shows exactly them. */
export interface RecordedStep {
  index: number;
  total: number;
  name: string;
  layer: number | null;
  tensors: Map<string, Tensor>;
}

/** A tensor as a heat-map: row-major values [rows × cols] and what the axes are. */
interface View {
  values: Float32Array;
  rows: number;
  cols: number;
  rowLabel: string;
  colLabel: string;
  /** What a value measures, for the legend. */
  unit: string;
  /** Token labels of the rows / columns, where they are positions. */
  rowNames?: readonly string[];
  colNames?: readonly string[];
}

const MAX_MAP_WIDTH = 560;
/** Taps read besides each op's own output. */

export class HymbaStepper extends LabWidget {
  static override styles = [
    LabWidget.styles,
    css`
      :host(:focus-visible) {
        outline: 3px solid var(--hl-focus);
        outline-offset: 2px;
      }
      .nav {
        display: flex;
        flex-wrap: wrap;
        gap: 0.4rem;
        align-items: center;
        margin: 0.5rem 0;
      }
      .nav .where {
        font-variant-numeric: tabular-nums;
        font-size: 0.9rem;
      }
      .nav code {
        font-weight: 600;
      }
      .main {
        display: grid;
        /* The diagram is drawn 260 units wide: at 260 px its 12 px labels are 12 px on screen. */
        grid-template-columns: 260px minmax(0, 1fr);
        gap: 1rem;
        align-items: start;
      }
      @media (max-width: 640px) {
        .main {
          grid-template-columns: 1fr;
        }
        .diagram {
          max-width: 260px;
        }
      }
      .diagram {
        width: 100%;
        height: auto;
        font-size: 12px;
      }
      /* On a presenter slide: the diagram in a column of its own on the left, the full height of the slide, drawn 4/3
         as large (its 12 px labels at the slide's 16 px); the controls, the op and its heat map on the right. The last
         row takes what the diagram needs beyond the right column's rows. */
      :host([presenter]) {
        display: grid;
        grid-template-columns: calc(260px * 4 / 3) minmax(0, 1fr);
        grid-template-rows: repeat(14, auto) 1fr;
        column-gap: 1.5rem;
        align-items: start;
      }
      :host([presenter]) > *,
      :host([presenter]) .main > * {
        grid-column: 2;
      }
      :host([presenter]) .main {
        display: contents;
      }
      /* On a slide, → and Space step the slides (the presenter's keys); the buttons step the ops. */
      :host([presenter]) .keys {
        display: none;
      }
      :host([presenter]) .main > .diagram {
        grid-column: 1;
        grid-row: 1 / -1;
      }
      .diagram .box rect {
        fill: var(--hl-widget-bg, #fff);
        stroke: var(--hl-border, #d0d4da);
        stroke-width: 1.2;
      }
      .diagram .box.attn rect {
        stroke: ${unsafeCSS(colourOf('attention'))};
      }
      .diagram .box.ssm rect {
        stroke: ${unsafeCSS(colourOf('ssmBranch'))};
      }
      .diagram .box text {
        fill: currentColor;
      }
      .diagram .box.done rect {
        fill: var(--hl-code-bg, #f1f3f5);
      }
      .diagram .box.current rect {
        fill: ${unsafeCSS(colourOf('current'))};
        stroke: currentColor;
        stroke-width: 2;
      }
      .diagram .box.current text {
        fill: #000;
        font-weight: 600;
      }
      .diagram .box.absent {
        opacity: 0.3;
      }
      .diagram .edge {
        stroke: var(--hl-muted, #5f6670);
        fill: none;
        stroke-width: 1;
      }
      .diagram .edge.skip {
        stroke-dasharray: 3 3;
      }
      .diagram .arrowhead {
        fill: var(--hl-muted, #5f6670);
      }
      .op h4 {
        margin: 0 0 0.25rem;
      }
      .op p {
        margin: 0 0 0.5rem;
      }
      /* On a slide the heat map's axes name the tokens; the numbered list (its text alternative) stays on the page. */
      :host([presenter]) .tokens {
        display: none;
      }
      .tokens {
        font-size: 0.75rem;
        font-family: ui-monospace, Menlo, Consolas, monospace;
        color: var(--hl-muted, #5f6670);
        margin: 0.3rem 0;
      }
      .side {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(220px, 1fr));
        gap: 1rem;
        margin-top: 1rem;
      }
      .side section {
        border-top: 3px solid var(--hl-border, #d0d4da);
        padding-top: 0.4rem;
      }
      .side section.attn {
        border-top-color: ${unsafeCSS(colourOf('attention'))};
      }
      .side section.ssm {
        border-top-color: ${unsafeCSS(colourOf('ssmBranch'))};
      }
      .side h5 {
        margin: 0 0 0.3rem;
        font-size: 0.9rem;
      }
      .side figure {
        margin: 0 0 0.5rem;
      }
      .side figcaption {
        font-size: 0.8rem;
      }
      .prompt-input {
        width: min(34rem, 100%);
        font-family: ui-monospace, Menlo, Consolas, monospace;
        font-size: 0.85rem;
      }
      .predictions {
        font-family: ui-monospace, Menlo, Consolas, monospace;
        font-size: 0.85rem;
      }
      .prompt-error {
        color: var(--hl-error, #c62828);
      }
    `,
  ];

  static override settings: Schema = {
    model: { kind: 'string', default: 'hymba', maxLength: 40, pattern: /^[A-Za-z0-9_-]+$/ },
    prompt: { kind: 'string', default: DEFAULT_PROMPT, maxLength: 2000, pattern: /^[kKvV_0-9 ,]*$/ },
    text: { kind: 'string', default: DEFAULT_TEXT, maxLength: MAX_TEXT_CHARS },
    layer: { kind: 'number', default: 0, min: 0, max: 1023, int: true },
    head: { kind: 'number', default: 0, min: 0, max: 1023, int: true },
    step: { kind: 'number', default: 0, min: 0, max: 1_000_000, int: true },
  };

  /** The zoo model (models/<name>/). */
  declare model: string;
  /** Token labels (k17 v301 _) or ids, separated by spaces: the input of a synthetic-zoo model. */
  declare prompt: string;
  /** English text: the input of an English model (en-*), tokenized into word pieces. */
  declare text: string;
  /** The layer being shown; choosing one jumps to its first op. */
  declare layer: number;
  /** The attention head drawn. */
  declare head: number;
  /** Index of the current op in the pass (0 = the embedding). */
  declare step: number;

  /** Every op run so far, in order. */
  history: RecordedStep[] = [];
  /** The model the pass runs on. */
  loaded: LoadedModel | null = null;
  /** The prompt's token ids. */
  ids: number[] = [];
  /** The text as tokenized, when the model reads English (null for a synthetic prompt). */
  english: EncodedText | null = null;
  private tokenizer: Tokenizer | null = null;
  @state() private current: RecordedStep | null = null;
  @state() private promptError = '';

  private steps: AsyncGenerator<Step> | null = null;
  /** Incremented by every new pass, so navigation of an old pass stops. */
  private pass = 0;
  /** Navigation runs one move at a time (the generator can only be advanced by one caller). */
  private nav: Promise<void> = Promise.resolve();

  /** The tap name of the op shown now (tests and lesson scripts read it). */
  get currentOp(): string {
    return this.current?.name ?? '';
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (!this.hasAttribute('tabindex')) this.tabIndex = 0;
    this.addEventListener('keydown', this.onKey);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.removeEventListener('keydown', this.onKey);
  }

  /** Only a new model, prompt or text runs a new pass; layer, head and step move within the pass. */
  protected override shouldRecompute(changed: PropertyValues<this>): boolean {
    return changed.has('model') || changed.has('prompt') || changed.has('text');
  }

  protected override async compute(): Promise<void> {
    const pass = ++this.pass;
    const controller = pageController();
    const stop = controller.onProgress(this.model, (p) => (this.progress = p));
    let loaded: LoadedModel;
    try {
      loaded = await controller.load(this.model);
    } finally {
      stop();
      this.progress = null;
    }
    if (pass !== this.pass) return;
    this.tierNote = loaded.note;
    const config = loaded.engine.config;
    const english = isEnglishModel(this.model);
    try {
      if (english) this.tokenizer = await englishTokenizer();
      const encoded = english ? await encodeFor(loaded, this.text) : null;
      if (pass !== this.pass) return;
      this.ids = encoded ? encoded.ids : parsePrompt(this.prompt, config.vocabSize);
      this.english = encoded;
      this.promptError = '';
    } catch (e) {
      if (pass !== this.pass) return;
      // A typo in the prompt box is the reader's to fix, not a broken widget: keep the last pass and say why. Text
      // the model cannot read (empty, too long) says so next to the text box, which stays there to fix it in.
      this.promptError = (e as Error).message;
      if (!(english && e instanceof TextError)) {
        if (this.loaded && this.history.length) return;
        throw e;
      }
      if (this.loaded === loaded && this.history.length && this.english) return;
      this.loaded = loaded;
      this.english = null;
      this.history = [];
      this.current = null;
      this.steps = null;
      return;
    }
    this.loaded = loaded;
    this.history = [];
    this.current = null;
    // The WebGPU engine keeps attention probabilities and SSM states only when asked for them by name.
    this.steps = loaded.engine.steps(this.ids, { taps: STEP_TAPS });
    const wanted = this.step;
    const layer = Math.min(this.layer, config.numLayers - 1);
    // A saved step wins; otherwise start at the chosen layer's first op. A failure here (e.g. a prompt longer than
    // the model takes) fails the widget, so it is not routed through queue().
    const first = this.advanceTo(wanted > 0 ? (r) => r.index >= wanted : layer > 0 ? (r) => r.layer === layer : () => true, pass);
    this.nav = first.catch(() => undefined);
    await first;
  }

  override updated(changed: PropertyValues<this>): void {
    super.updated(changed);
    // Attributes or the URL moved step / layer: go there (our own moves keep them equal to the current op).
    if (!this.current || this.shouldRecompute(changed)) return;
    if (changed.has('step') && this.step !== this.current.index) void this.goTo(this.step);
    else if (changed.has('layer') && this.layer !== this.current.layer) void this.goToLayer(this.layer);
  }

  // --- navigation ---------------------------------------------------------------------------------------------

  private queue(move: () => Promise<void>): Promise<void> {
    this.nav = this.nav.then(move).catch((e) => {
      this.errorMessage = (e as Error).message;
      this.status = 'error';
    });
    return this.nav;
  }

  /** Run ops until `until` holds for the newest one (or the pass ends), then show it. */
  private async advanceTo(until: (r: RecordedStep) => boolean, pass = this.pass): Promise<void> {
    const found = this.history.find(until);
    if (found) return this.show(found);
    while (this.steps && pass === this.pass) {
      const next = await this.steps.next();
      if (pass !== this.pass) return;
      if (next.done) break;
      const rec = await this.record(next.value);
      this.history.push(rec);
      if (until(rec)) return this.show(rec);
    }
    const last = this.history[this.history.length - 1];
    if (last && pass === this.pass) this.show(last);
  }

  /** Read what an op computed (and, for the scan, the final SSM state): later ops may not keep these around. */
  private async record(step: Step): Promise<RecordedStep> {
    const tensors = new Map<string, Tensor>();
    tensors.set(step.name, await step.read(step.name));
    if (step.name.endsWith('.ssm_out')) {
      const state = step.name.replace(/ssm_out$/, 'ssm.state');
      tensors.set(state, await step.read(state));
    }
    return { index: step.index, total: step.total, name: step.name, layer: step.layer, tensors };
  }

  private show(rec: RecordedStep): void {
    this.current = rec;
    this.step = rec.index;
    if (rec.layer !== null) this.layer = rec.layer;
  }

  /** Go to op `index` (running ops up to it if they have not run yet). */
  goTo(index: number): Promise<void> {
    const target = Math.max(0, index);
    return this.queue(() => this.advanceTo((r) => r.index >= target));
  }

  goToLayer(layer: number): Promise<void> {
    return this.queue(() => this.advanceTo((r) => r.layer === layer));
  }

  next(): Promise<void> {
    return this.goTo((this.current?.index ?? -1) + 1);
  }

  previous(): Promise<void> {
    return this.goTo((this.current?.index ?? 1) - 1);
  }

  restart(): Promise<void> {
    return this.goTo(0);
  }

  private onKey = (e: KeyboardEvent) => {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
    // Keys typed into the prompt box or pressed on a button belong to that control.
    const target = e.composedPath()[0] as HTMLElement;
    if (target !== this && /^(INPUT|SELECT|TEXTAREA|BUTTON|SUMMARY)$/.test(target.tagName)) return;
    const moves: Record<string, () => Promise<void>> = {
      ' ': () => this.next(),
      ArrowRight: () => this.next(),
      ArrowLeft: () => this.previous(),
      Home: () => this.restart(),
    };
    const move = moves[e.key];
    if (!move) return;
    e.preventDefault();
    void move();
  };

  // --- what to draw -------------------------------------------------------------------------------------------

  private get numMeta(): number {
    return this.loaded?.engine.config.numMetaTokens ?? 0;
  }

  /** A tap's tensor as a heat-map. Attention probabilities show one head; the SSM state is drawn slots × channels. */
  private view(name: string, t: Tensor): View {
    if (name.endsWith('attn.probs')) {
      const [H, N] = t.shape;
      const h = Math.min(this.head, H - 1);
      const names = this.labels(N - this.ids.length);
      return {
        values: t.data.subarray(h * N * N, (h + 1) * N * N),
        rows: N,
        cols: N,
        rowLabel: 'query',
        colLabel: 'key',
        unit: 'attention probability (0–1)',
        rowNames: names,
        colNames: names,
      };
    }
    if (name.endsWith('ssm.state')) {
      const [E, S] = t.shape;
      const out = new Float32Array(E * S);
      for (let e = 0; e < E; e++) for (let s = 0; s < S; s++) out[s * E + e] = t.data[e * S + s];
      return { values: out, rows: S, cols: E, rowLabel: 'state slot', colLabel: 'channel', unit: 'SSM state value' };
    }
    const rows = t.shape[0];
    const cols = t.data.length / rows;
    const logits = name === 'logits';
    return {
      values: t.data,
      rows,
      cols,
      rowLabel: 'position',
      colLabel: logits ? 'token id' : 'channel',
      unit: logits ? 'logit' : 'activation',
      rowNames: rows >= this.ids.length ? this.labels(rows - this.ids.length) : undefined,
    };
  }

  private heatmap(v: View, label: string, maxWidth = MAX_MAP_WIDTH, maxHeight = 400): TemplateResult {
    const cell = Math.max(1, Math.min(12, Math.floor(maxWidth / v.cols), Math.floor(maxHeight / v.rows)));
    return html`<hl-heatmap
      .values=${v.values}
      rows=${v.rows}
      cols=${v.cols}
      cell=${cell}
      label=${label}
      row-label=${v.rowLabel}
      col-label=${v.colLabel}
      unit=${v.unit}
      .rowNames=${v.rowNames ?? []}
      .colNames=${v.colNames ?? []}
    ></hl-heatmap>`;
  }

  /** The newest recorded tensor of `tap` in the current layer, up to the current op. */
  private sofar(tap: string): Tensor | null {
    const cur = this.current;
    if (!cur) return null;
    for (let i = cur.index; i >= 0; i--) {
      const t = this.history[i]?.tensors.get(tap);
      if (t) return t;
    }
    return null;
  }

  protected override renderBody(): TemplateResult {
    const cur = this.current;
    const loaded = this.loaded;
    if (!cur || !loaded) return html`${this.renderControls()} ${this.promptError ? '' : html`<p class="note">Starting the pass…</p>`}`;
    const config = loaded.engine.config;
    const layerSpec = cur.layer !== null ? config.layers[cur.layer] : null;
    const { title, text } = describeOp(cur.name, config.numLayers);
    const tensor = cur.tensors.get(cur.name)!;
    const main = this.view(cur.name, tensor);
    const done = new Set(this.history.filter((r) => r.index < cur.index && r.layer === cur.layer).flatMap((r) => boxesOf(r.name)));
    const present = { attn: layerSpec?.hasAttention ?? true, ssm: layerSpec?.hasSsm ?? true };
    return html`
      ${this.renderControls()}
      <div class="nav" role="group" aria-label="Step through the forward pass">
        <button type="button" data-nav="restart" @click=${() => this.restart()} title="Home">⇤ Restart</button>
        <button type="button" data-nav="back" @click=${() => this.previous()} ?disabled=${cur.index === 0} title="←">← Back</button>
        <button type="button" data-nav="next" @click=${() => this.next()} ?disabled=${cur.index === cur.total - 1} title="Space or →">
          Next op →
        </button>
        <span class="where" aria-live="polite"
          >op ${cur.index + 1} of ${cur.total}:
          <code class="op-name">${cur.name}</code>${cur.layer !== null ? ` (layer ${cur.layer})` : ''}</span
        >
      </div>
      <p class="note keys">Keys: Space or → next op, ← back, Home restart (click the figure first).</p>
      <div class="main">
        ${blockDiagram(boxesOf(cur.name), done, present)}
        <div class="op">
          <h4>${title}</h4>
          <p>${text}</p>
          ${this.heatmap(main, `${cur.name} (${tensor.shape.join(' × ')})`)}
          <p class="note">
            Tensor <code>${cur.name}</code>, shape
            [${tensor.shape.join(', ')}]${cur.name.endsWith('attn.probs') ? `, head ${Math.min(this.head, tensor.shape[0] - 1)}` : ''}.
            Hover a cell (or focus the map and use the arrow keys) to read its value.
          </p>
          ${main.rowLabel === 'position' || main.rowLabel === 'query' ? this.renderTokens(cur.name === 'logits') : ''}
          ${cur.name === 'logits' ? (this.english ? this.renderNextWords(tensor) : this.renderPredictions(tensor)) : ''}
        </div>
      </div>
      ${cur.name.endsWith('.fused') && cur.layer !== null ? this.renderFusion(cur.layer) : ''}
      ${cur.layer !== null ? this.renderBranches(cur.layer) : ''}
      ${this.renderExports({
        rows: () => this.cellRows(),
        columns: ['op', 'row', 'col', 'value'],
        json: () => ({
          model: this.model,
          ...(this.english ? { text: this.english.text, tokens: this.english.pieces } : { prompt: this.prompt }),
          op: cur.name,
          shape: tensor.shape,
          data: tensor.data,
        }),
        svg: () => this.renderRoot.querySelector<SVGSVGElement>('svg.diagram'),
      })}
      ${this.isHidden('code') ? '' : codePanel(stepperSnippet({ model: this.model, ids: this.ids, index: cur.index, op: cur.name }))}
    `;
  }

  private renderControls(): TemplateResult {
    const config = this.loaded?.engine.config;
    const heads = config && this.current?.layer != null ? config.layers[this.current.layer].numHeads : (config?.numHeads ?? 1);
    return html`<div class="controls">
        ${
          this.isHidden('model')
            ? ''
            : html`<label
                >Model
                <select name="model" @change=${(e: Event) => (this.model = (e.target as HTMLSelectElement).value)}>
                  ${[...new Set([this.model, ...PICKABLE_MODELS])].map((m) => html`<option value=${m} ?selected=${m === this.model}>${m}</option>`)}
                </select></label
              >`
        }
        ${
          this.isHidden('layer') || !config
            ? ''
            : html`<label
                >Layer
                <select name="layer" @change=${(e: Event) => this.goToLayer(Number((e.target as HTMLSelectElement).value))}>
                  ${config.layers.map(
                    (l) =>
                      html`<option value=${l.index} ?selected=${l.index === this.layer}>
                        ${l.index}:
                        ${l.hasAttention && l.hasSsm ? 'attention ∥ SSM' : l.hasAttention ? 'attention' : 'SSM'}${l.hasAttention ? (l.global ? ', global' : ', window') : ''}
                      </option>`,
                  )}
                </select></label
              >`
        }
        ${
          this.isHidden('head') || !config
            ? ''
            : html`<label
                >Head
                <select name="head" @change=${(e: Event) => (this.head = Number((e.target as HTMLSelectElement).value))}>
                  ${Array.from({ length: heads }, (_, h) => html`<option value=${h} ?selected=${h === this.head}>${h}</option>`)}
                </select></label
              >`
        }
      </div>
      ${isEnglishModel(this.model) ? this.renderTextBox() : this.renderPromptBox()}`;
  }

  /** The English text box, what became of the text (word pieces, <unk>), and why it cannot run when it cannot. */
  private renderTextBox(): TemplateResult | string {
    if (this.isHidden('text')) return '';
    return englishTextBox({
      value: this.text,
      help: html`: it is split into the word pieces the model was trained on, after <code>&lt;s&gt;</code>; <code>▁</code> marks a piece
        that starts a word.`,
      unknown: this.english?.unknown,
      error: this.promptError,
      errorClass: 'prompt-error',
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
                aria-describedby="prompt-help"
                @change=${(e: Event) => (this.prompt = (e.target as HTMLInputElement).value.trim())}
            /></label>
            <p class="note" id="prompt-help">
              k<i>n</i> = key, v<i>n</i> = value, _ = blank. The model learned to answer a repeated key with the value that followed it.
            </p>
            ${this.promptError ? html`<p class="note prompt-error" role="alert">${this.promptError}</p>` : ''}`
    }`;
  }

  /** The sequence's labels with `numMeta` meta tokens first: word pieces for English, k17 v301 _ for MQAR. */
  labels(numMeta: number): string[] {
    if (this.english) return textLabels(this.english.pieces, numMeta);
    return sequenceLabels(this.ids, numMeta, this.loaded?.engine.config.vocabSize ?? 0);
  }

  /** Position → token, for reading the rows of a map. */
  private renderTokens(textOnly: boolean): TemplateResult {
    const labels = this.labels(textOnly ? 0 : this.numMeta);
    return html`<p class="tokens">rows: ${labels.map((l, i) => `${i}:${l}`).join(' ')}</p>`;
  }

  /** At the logits of English text: the model's most likely next pieces after the last token. */
  private renderNextWords(logits: Tensor): TemplateResult {
    const pieces = this.english!.pieces;
    const top = topNext(logits, logits.shape[0] - 1, 5);
    return html`<p class="predictions next-words">
      After “${pieces[pieces.length - 1]}”, the model's most likely next pieces:
      ${top.map((t) => html`<span> <code>${this.tokenizer!.idToToken(t.id)}</code> ${(100 * t.p).toFixed(1)}%;</span>`)}
    </p>`;
  }

  /** At the logits: what the model predicts after each query (a key seen earlier with its value). */
  private renderPredictions(logits: Tensor): TemplateResult {
    const vocab = this.loaded!.engine.config.vocabSize;
    const V = logits.shape[1];
    const argmax = (row: number) => {
      let best = 0;
      for (let v = 1; v < V; v++) if (logits.data[row * V + v] > logits.data[row * V + best]) best = v;
      return best;
    };
    const items = queriesOf(this.ids, vocab).map((q) => {
      const got = argmax(q.pos);
      return { ...q, got, ok: got === q.value };
    });
    if (items.length === 0) return html`<p class="note">No query in this prompt (a key repeated after its pair), so nothing to check.</p>`;
    const right = items.filter((i) => i.ok).length;
    return html`<p class="predictions">
      Predictions at the queries (${right} of ${items.length} right):
      ${items.map((i) => html`<span> ${tokenLabel(this.ids[i.pos], vocab)}@${i.pos} → ${tokenLabel(i.got, vocab)} ${i.ok ? '✓' : `✗ (want ${tokenLabel(i.value, vocab)})`};</span>`)}
    </p>`;
  }

  /** Attention and SSM of this layer side by side, as far as the pass has got. */
  private renderBranches(layer: number): TemplateResult {
    const p = `layers.${layer}.`;
    const probs = this.sofar(p + 'attn.probs');
    const ssm = ['ssm.dt', 'ssm.B', 'ssm.C', 'ssm.state'].map((n) => [n, this.sofar(p + n)] as const);
    const l = this.loaded!.engine.config.layers[layer];
    const waiting = html`<p class="note">Not computed yet: step on.</p>`;
    const small = (name: string, t: Tensor, caption: string) =>
      html`<figure>
        ${this.heatmap(this.view(name, t), `${name} of layer ${layer}`, 260, 180)}
        <figcaption>${caption}</figcaption>
      </figure>`;
    const captions: Record<string, string> = {
      'ssm.dt': 'Δ (position × channel): how much each token writes',
      'ssm.B': 'B (position × slot): where it writes',
      'ssm.C': 'C (position × slot): what is read',
      'ssm.state': 'state after the last token (slot × channel)',
    };
    return html`<div class="side">
      <section class="attn">
        <h5>Attention branch, layer ${layer}</h5>
        ${
          !l.hasAttention
            ? html`<p class="note">This layer has no attention heads.</p>`
            : probs
              ? small(
                  p + 'attn.probs',
                  probs,
                  `probabilities of head ${Math.min(this.head, probs.shape[0] - 1)} (query × key); the first ${this.numMeta} keys are meta tokens`,
                )
              : waiting
        }
      </section>
      <section class="ssm">
        <h5>SSM branch, layer ${layer}</h5>
        ${
          !l.hasSsm
            ? html`<p class="note">This layer has no SSM.</p>`
            : ssm.some(([, t]) => t)
              ? ssm.map(([n, t]) => (t ? small(p + n, t, captions[n]) : ''))
              : waiting
        }
      </section>
    </div>`;
  }

  /** β1·norm(attention), β2·norm(SSM) and their mean: the fusion, computed here from the branch outputs and gains. */
  private renderFusion(layer: number): TemplateResult {
    const p = `layers.${layer}.`;
    const attn = this.sofar(p + 'attn_out');
    const ssm = this.sofar(p + 'ssm_out');
    const fused = this.sofar(p + 'fused');
    if (!attn || !ssm || !fused) return html``;
    const config = this.loaded!.engine.config;
    const gain = (n: 1 | 2) => weightF32(this.loaded!.checkpoint.weights.get(`model.layers.${layer}.mamba.pre_avg_layernorm${n}.weight`)!);
    const a = rmsnormRows(attn, gain(1), config.rmsNormEps);
    const s = rmsnormRows(ssm, gain(2), config.rmsNormEps);
    const rms = (t: Tensor) => Math.sqrt(t.data.reduce((acc, x) => acc + x * x, 0) / t.data.length);
    const [rows, cols] = fused.shape;
    const v = (values: Float32Array): View => ({ values, rows, cols, rowLabel: 'position', colLabel: 'channel', unit: 'activation' });
    return html`<div class="side fusion">
        <section class="attn">
          <h5>β1 · RMSNorm(attention)</h5>
          ${this.heatmap(v(a), 'normalised attention branch', 260)}
        </section>
        <section class="ssm">
          <h5>β2 · RMSNorm(SSM)</h5>
          ${this.heatmap(v(s), 'normalised SSM branch', 260)}
        </section>
        <section>
          <h5>mean = fused</h5>
          ${this.heatmap(v(fused.data), 'fused', 260)}
        </section>
      </div>
      <p class="note">
        Before normalising, the attention output has RMS ${rms(attn).toPrecision(3)} and the SSM output ${rms(ssm).toPrecision(3)}: the
        norms put the two branches on one scale before they are averaged, and β decides each channel's share.
      </p>`;
  }

  private cellRows(): Record<string, unknown>[] {
    const cur = this.current;
    if (!cur) return [];
    const v = this.view(cur.name, cur.tensors.get(cur.name)!);
    const rows: Record<string, unknown>[] = [];
    for (let r = 0; r < v.rows; r++)
      for (let c = 0; c < v.cols; c++) rows.push({ op: cur.name, row: r, col: c, value: v.values[r * v.cols + c] });
    return rows;
  }
}

/** RMSNorm of every row of a 2-D tensor, times a gain (what the engine does before the fusion). */
function rmsnormRows(t: Tensor, gain: Float32Array, eps: number): Float32Array {
  const [rows, cols] = t.shape;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let c = 0; c < cols; c++) ss += t.data[r * cols + c] ** 2;
    const inv = 1 / Math.sqrt(ss / cols + eps);
    for (let c = 0; c < cols; c++) out[r * cols + c] = t.data[r * cols + c] * inv * gain[c];
  }
  return out;
}

define('hymba-stepper', HymbaStepper);

declare global {
  interface HTMLElementTagNameMap {
    'hymba-stepper': HymbaStepper;
  }
}
