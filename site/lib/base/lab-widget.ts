// What the lab widgets share on top of HymbaWidget (widget-base.ts):
//  - settings declared once, as a schema (`static settings`): each entry becomes a Lit reactive property with its
//    attribute, its default, its limits and its URL round-trip (`?<id>.<setting>=…`, see url-state.ts). Every source
//    (attribute, URL, the iframe route) is decoded through the schema: out-of-range values are clamped and the widget
//    says so in a visible note;
//  - work only once the widget is on screen: until then it stays `loading` and says "waiting until visible";
//  - a status line for model downloads (bytes) and for the CPU fallback note (the progress line and Cancel of long
//    work are HymbaWidget's, widget-base.ts);
//  - `hide="a,b"`: a teacher hides controls by name (the names are the widget's settings, plus "export", "code");
//  - `presenter`: set by a presenter slide (site/classroom/presenter.ts). The widget takes its slide layout (theme.ts
//    presenterStyles: a tall figure in the slide's columns, no "Show numbers" tables), and a widget whose figure
//    would still not fit a slide draws less of it (`presenterLimit`), with a note saying what it left out;
//  - export buttons (CSV, JSON, SVG, PNG), "Show numbers" tables and "Show code" panels.
import { html, unsafeCSS, type PropertyDeclaration, type PropertyValues, type TemplateResult } from 'lit';
import { property, state } from 'lit/decorators.js';
import { HymbaWidget } from './widget-base.ts';
import {
  attributeOf,
  decodeField,
  namespaceOf,
  readState,
  settingNote,
  writeState,
  type Field,
  type Schema,
  type StateOf,
} from './url-state.ts';
import { watchVisibility, type Visibility } from './visibility.ts';
import { chartSvg, download, fileStem, svgText, svgToPng, toCsv, toJson, type Row } from './export.ts';
import { formatBytes, type LoadProgress } from '../page/engine-controller.ts';
import { labStyles } from './theme.ts';
import { codePanelStyles } from './code-panel.ts';

export interface Exports {
  /** Rows for CSV (and JSON when `json` is absent). */
  rows?: () => Row[];
  columns?: readonly string[];
  json?: () => unknown;
  /** The chart to export as SVG and PNG: an <svg>, or a chart library's <figure> around one. */
  svg?: () => Element | null;
}

export abstract class LabWidget extends HymbaWidget {
  static override styles = [HymbaWidget.styles, labStyles, unsafeCSS(codePanelStyles)];

  /**
   * The widget's settings, declared once: each entry becomes a reactive property of the same name (declare it in the
   * subclass with `declare name: type`), read from the attribute `attributeOf(name)` through the schema, defaulting
   * to the field's default, and kept in the URL.
   */
  static settings: Schema = {};

  /** A widget whose work costs no more than painting it (the RMSNorm demo: one tiny kernel) need not wait to be seen. */
  static computesOffscreen = false;

  protected static override finalize(): void {
    if (Object.hasOwn(this, 'finalized')) return;
    if (Object.hasOwn(this, 'settings')) {
      for (const [name, field] of Object.entries(this.settings)) this.createProperty(name, settingProperty(name, field));
    }
    super.finalize();
  }

  constructor() {
    super();
    const self = this as unknown as Record<string, unknown>;
    for (const [name, field] of Object.entries((this.constructor as typeof LabWidget).settings)) {
      self[name] = field.kind === 'int-list' ? [...field.default] : field.default;
    }
  }

  /** Visible notes for settings that were clamped or replaced (by setting name): what was asked, what is used. */
  @state() protected settingNotes: Record<string, string> = {};

  /** Controls to hide, by setting name (comma or space separated), e.g. hide="window,meta" or hide="export,code". */
  @property() hide = '';

  /** On a presenter slide (set by the slide): the slide layout, and `presenterLimit` applies. */
  @property({ type: Boolean, reflect: true }) presenter = false;

  /** Shown under the widget: why it runs where it runs (e.g. the CPU fallback). */
  @state() protected tierNote = '';
  @state() protected progress: LoadProgress | null = null;
  @state() protected waitingForVisible = true;
  @state() private exportError = '';

  private visibility: Visibility | null = null;
  /** The settings as the page's attributes gave them: the URL records only differences from these. */
  private baseline: Partial<StateOf<Schema>> = {};
  private urlReady = false;

  override attributeChangedCallback(name: string, old: string | null, value: string | null): void {
    super.attributeChangedCallback(name, old, value);
    const schema = (this.constructor as typeof LabWidget).settings;
    const setting = Object.keys(schema).find((k) => attributeOf(k) === name);
    if (setting && value !== null) this.noteSetting(setting, schema[setting], value);
  }

  /** Record (or clear) the note for a setting read from `text`. */
  private noteSetting(name: string, field: Field, text: string): void {
    const note = settingNote(name, field, text, (this as unknown as Record<string, unknown>)[name]);
    const { [name]: _old, ...rest } = this.settingNotes;
    this.settingNotes = note ? { ...rest, [name]: note } : rest;
  }

  /**
   * Show (or, with '', clear) why a setting was repaired: a value valid alone but not with the others (a layer mode
   * the chosen model cannot take) becomes the nearest valid one, and the reader is told, never left with an error.
   */
  protected repairNote(name: string, note: string): void {
    const key = `${name}:repaired`;
    const { [key]: _old, ...rest } = this.settingNotes;
    this.settingNotes = note ? { ...rest, [key]: note } : rest;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.visibility ??= watchVisibility(this);
    if (!this.urlReady) {
      const schema = (this.constructor as typeof LabWidget).settings;
      const self = this as unknown as Record<string, unknown>;
      for (const name of Object.keys(schema)) (this.baseline as Record<string, unknown>)[name] = self[name];
      const namespace = namespaceOf(this);
      const fromUrl = readState(schema, location.search, namespace);
      const params = new URLSearchParams(location.search);
      for (const [name, value] of Object.entries(fromUrl)) {
        self[name] = value;
        this.noteSetting(name, schema[name], params.get(`${namespace}.${name}`) ?? '');
      }
      this.urlReady = true;
    }
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.visibility?.disconnect();
    this.visibility = null;
  }

  protected override async runCompute(): Promise<void> {
    if (!(this.constructor as typeof LabWidget).computesOffscreen) await (this.visibility ?? watchVisibility(this)).firstVisible;
    this.waitingForVisible = false;
    return super.runCompute();
  }

  override updated(changed: PropertyValues<this>): void {
    super.updated(changed);
    const schema = (this.constructor as typeof LabWidget).settings;
    if (this.urlReady && [...changed.keys()].some((k) => (k as string) in schema)) this.writeUrl();
  }

  /** The current settings into the URL (replaceState: moving a slider should not flood the back button). */
  private writeUrl(): void {
    const schema = (this.constructor as typeof LabWidget).settings;
    const self = this as unknown as Record<string, unknown>;
    const current = Object.fromEntries(Object.keys(schema).map((k) => [k, self[k]])) as Partial<StateOf<Schema>>;
    const search = writeState(schema, location.search, namespaceOf(this), current, this.baseline);
    if (search !== location.search) history.replaceState(history.state, '', location.pathname + search + location.hash);
  }

  /** Entering or leaving a slide changes the layout, not the results: no new computation. */
  protected override shouldRecompute(changed: PropertyValues<this>): boolean {
    const rest = new Map(changed);
    rest.delete('presenter');
    return rest.size > 0 && super.shouldRecompute(rest as PropertyValues<this>);
  }

  /**
   * How many of `count` rows (layers, heads) a figure draws: all of them on the page; on a slide at most `slideMax`,
   * the rest named in the note this returns, so the reader knows what the slide leaves out.
   */
  protected presenterLimit(count: number, slideMax: number, what: string): { shown: number; note: string } {
    if (!this.presenter || count <= slideMax) return { shown: count, note: '' };
    return {
      shown: slideMax,
      note: `On this slide: ${what} 0–${slideMax - 1} of ${count}; ${what} ${slideMax}–${count - 1} are on the lesson page.`,
    };
  }

  /** Whether the teacher hid this control (hide="…"). */
  protected isHidden(name: string): boolean {
    return this.hide.split(/[\s,]+/).includes(name);
  }

  override render(): TemplateResult {
    if (this.status === 'error') return super.render();
    return html`${this.renderBody()}${this.renderStatus()}`;
  }

  private renderStatus(): TemplateResult {
    let line = '';
    if (this.waitingForVisible) line = 'Waiting until visible: this figure computes when you scroll to it.';
    else if (this.progress) {
      const { loaded, total, model } = this.progress;
      line = `Loading model “${model}”: ${formatBytes(loaded)}${total ? ` of ${formatBytes(total)}` : ''}…`;
    } else if (this.status !== 'ready' && !this.progressShown) line = 'Computing…';
    const notes = Object.values(this.settingNotes);
    return html`${notes.map((n) => html`<p class="note setting-note" role="note">${n}</p>`)}${this.tierNote ? html`<p class="note tier">${this.tierNote}</p>` : ''}${line ? html`<p class="status-line" aria-live="polite">${line}</p>` : ''}`;
  }

  /** CSV / JSON / SVG / PNG buttons for what `exports` provides. */
  protected renderExports(exports: Exports): TemplateResult | string {
    if (this.isHidden('export')) return '';
    const stem = fileStem(this.id || this.localName);
    const svg = exports.svg;
    return html`<div class="toolbar" role="group" aria-label="Export">
      <span class="note">Export:</span>
      ${exports.rows ? html`<button type="button" data-export="csv" @click=${() => download(`${stem}.csv`, toCsv(exports.rows!(), exports.columns), 'text/csv')}>CSV</button>` : ''}
      ${
        exports.rows || exports.json
          ? html`<button
              type="button"
              data-export="json"
              @click=${() => download(`${stem}.json`, toJson((exports.json ?? exports.rows)!()), 'application/json')}
            >
              JSON
            </button>`
          : ''
      }
      ${
        svg
          ? html`<button
                type="button"
                data-export="svg"
                @click=${() => this.withSvg(svg, (s) => download(`${stem}.svg`, svgText(s), 'image/svg+xml'))}
              >
                SVG
              </button>
              <button
                type="button"
                data-export="png"
                @click=${() => this.withSvg(svg, async (s) => download(`${stem}.png`, await svgToPng(s)))}
              >
                PNG
              </button>`
          : ''
      }
      ${this.exportError ? html`<span class="note" role="alert">${this.exportError}</span>` : ''}
    </div>`;
  }

  private async withSvg(get: () => Element | null, use: (svg: SVGSVGElement) => void | Promise<void>): Promise<void> {
    this.exportError = '';
    const svg = chartSvg(get());
    try {
      if (!svg) throw new Error('there is no chart to export yet');
      await use(svg);
    } catch (e) {
      this.exportError = `Export failed: ${(e as Error).message}`;
    }
  }
}

/** The Lit property options of a setting: its attribute text goes through the schema (validated, clamped). */
function settingProperty(name: string, field: Field): PropertyDeclaration {
  return {
    attribute: attributeOf(name),
    converter: {
      fromAttribute: (text: string | null) =>
        // A present boolean attribute with no value (`<x meta>`) means on; an absent one, the default.
        field.kind === 'boolean' && text === '' ? true : decodeField(field, text),
    },
  };
}

/** "Show numbers": a chart's data as a table, the text alternative every chart has. */
export function numbersTable(rows: Row[], columns: readonly string[], caption: string): TemplateResult {
  return html`<details class="numbers">
    <summary>Show numbers</summary>
    <table class="numbers">
      <caption class="visually-hidden">
        ${caption}
      </caption>
      <thead>
        <tr>
          ${columns.map((c) => html`<th scope="col">${c}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (r) =>
            html`<tr>
              ${columns.map((c) => html`<td>${String(r[c] ?? '')}</td>`)}
            </tr>`,
        )}
      </tbody>
    </table>
  </details>`;
}
