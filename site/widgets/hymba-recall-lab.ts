// <hymba-recall-lab model="hymba" pairs="16" modes="both,both,both,both" sequences="24" curve-sequences="8">
// MQAR-128 live on a trained zoo model. The reader switches each layer's heads between attention, SSM or both (an
// ablation of the trained model: "SSM only" in layer i zeroes β1 there = attn@i; "attention only" = ssm@i), sets
// the number of key–value pairs, and sees fresh sequences answered right (✓) or wrong (✗) query by query, the
// running accuracy, accuracy against the number of pairs, and the cache the switched configuration needs.
import { css, html, type TemplateResult } from 'lit';
import { state } from 'lit/decorators.js';
import * as Plot from '@observablehq/plot';
import type { HymbaConfig } from '../../engine/config.ts';
import {
  ablationSpec,
  effectiveCache,
  evaluatePoints,
  FRESH_SEED,
  modesOf,
  mqar128,
  modesText,
  repairModes,
  trainedMode,
  type AnsweredExample,
  type LayerMode,
  type PairsPoint,
  type RecallPoint,
} from '../../engine/analysis/recall.ts';
import { cacheBytes } from '../../engine/cache/calculator.ts';
import { define } from '../lib/base/widget-base.ts';
import { LabWidget, numbersTable } from '../lib/base/lab-widget.ts';
import { formatBytes } from '../lib/page/engine-controller.ts';
import { codePanel } from '../lib/base/code-panel.ts';
import { MEANINGS, NEUTRAL, meaningScale } from '../lib/base/palette.ts';
import { chartWidth } from '../lib/base/theme.ts';
import type { Schema } from '../lib/base/url-state.ts';
import { RIGHT, WRONG, label, pct } from '../lib/features/recall-shared.ts';
import { measureInRounds } from '../../engine/analysis/sample-budget.ts';
import { engineNote, loadCard, loadZooModel, queuedEngine, type EngineChoice } from '../lib/page/queued-engine.ts';
import type { ModelCard } from '../../engine/train/card.ts';
import { ZOO_NAMES } from '../../engine/train/zoo.ts';
import { recallSnippet } from '../lib/content/recall-snippets.ts';

/** The pairs of the accuracy-vs-pairs curve (MQAR-128 allows 4–24 in the zoo's training range, up to 32). */
const CURVE_PAIRS = [4, 8, 12, 16, 20, 24];
/** Sequences at `pairs` in the first, timed round: a first accuracy and curve within seconds on any device. */
const PILOT = 3;

/** Accuracy by key→query distance over several rounds: the buckets' answers added up. */
function mergeDistance(tables: RecallLabResults['byDistance'][]): RecallLabResults['byDistance'] {
  const sum: Record<string, { right: number; queries: number }> = {};
  for (const t of tables)
    for (const [bucket, { accuracy, queries }] of Object.entries(t)) {
      const b = (sum[bucket] ??= { right: 0, queries: 0 });
      b.right += accuracy * queries;
      b.queries += queries;
    }
  return Object.fromEntries(Object.entries(sum).map(([k, b]) => [k, { accuracy: b.right / b.queries, queries: b.queries }]));
}

/** Answered sequences drawn token by token (all of them are counted). */
const SHOWN = 3;

const MODE_TEXT: Record<LayerMode, string> = { both: 'both', attention: 'attention only', ssm: 'SSM only', off: 'off' };

export interface RecallLabResults {
  model: string;
  pairs: number;
  /** Per-layer modes and the ablation they mean. */
  modes: LayerMode[];
  ablation: string;
  accuracy: number;
  correct: number;
  total: number;
  byDistance: Record<string, { accuracy: number; queries: number }>;
  examples: AnsweredExample[];
  /** Accuracy of this configuration against the number of pairs (live). */
  curve: PairsPoint[];
  cache: { effective: number; trained: number; seqLen: number };
}

export class HymbaRecallLab extends LabWidget {
  /** compute() checks its signal between calls (batches, tokens): Cancel stops it there. */
  static override cancellableCompute = true;

  static override styles = [
    LabWidget.styles,
    css`
      /* A tall figure: on a presenter slide it takes two of the slide's columns (theme.ts presenterStyles). */
      :host {
        --slide-columns: 2;
      }
      .layers {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr));
        gap: 0.5rem;
        margin: 0.5rem 0;
      }
      .layers fieldset {
        border: 1px solid var(--hl-border, #d0d4da);
        border-radius: 6px;
        padding: 0.3rem 0.6rem;
        margin: 0;
      }
      .layers legend {
        font-size: 0.85rem;
      }
      .layers label {
        display: block;
        font-size: 0.85rem;
      }
      .big {
        font-weight: 600;
        padding: 0.35rem 0.9rem;
      }
      .headline {
        font-size: 1.1rem;
        margin: 0.6rem 0;
      }
      .seq {
        font-family: ui-monospace, Menlo, Consolas, monospace;
        font-size: 0.75rem;
        line-height: 1.9;
        margin: 0.4rem 0;
        word-break: break-word;
      }
      .seq .tok {
        padding: 0 0.15rem;
      }
      .seq .blank {
        color: var(--hl-muted, #5f6670);
      }
      .seq .ans {
        border-radius: 3px;
        padding: 0 0.25rem;
        margin-right: 0.2rem;
        color: #fff;
        white-space: nowrap;
      }
      .legend span {
        margin-right: 1rem;
      }
    `,
  ];

  static override settings: Schema = {
    model: { kind: 'string', default: 'hymba', maxLength: 40, pattern: /^[A-Za-z0-9_-]+$/ },
    pairs: { kind: 'number', default: 16, min: 4, max: 24, int: true },
    modes: { kind: 'string', default: '', maxLength: 200, pattern: /^[a-z,]*$/ },
    seed: { kind: 'number', default: FRESH_SEED, min: 0, max: 2 ** 31 - 1, int: true },
    engine: { kind: 'enum', default: 'auto', values: ['auto', 'cpu'] },
    sequences: { kind: 'number', default: 24, min: 1, max: 64, int: true },
    curveSequences: { kind: 'number', default: 8, min: 0, max: 32, int: true },
    budgetMs: { kind: 'number', default: 8_000, min: 500, max: 600_000, int: true },
  };

  /** The zoo model (models/<name>/). */
  declare model: string;
  /** Key–value pairs per sequence. */
  declare pairs: number;
  /** Per-layer modes, comma separated: both | attention | ssm | off (empty or missing: as trained). */
  declare modes: string;
  /** Seed of the fresh sequences ("New sequences" picks another). */
  declare seed: number;
  /** auto: the page's engine (WebGPU when available); cpu: the CPU reference engine. */
  declare engine: EngineChoice;
  /** Sequences answered at `pairs`, at most: fewer on a slow device (sized to `budget-ms`). */
  declare sequences: number;
  /** Sequences per point of the accuracy-vs-pairs curve at most, scaled with `sequences` (0: no curve). */
  declare curveSequences: number;
  /** How long one toggle's measurement may take on this device (ms). */
  declare budgetMs: number;

  /** Running accuracy at `pairs` (NaN until the first sequence is answered). Tests read it. */
  @state() accuracy = NaN;
  /** Everything measured by the last run; tests and the exports read it. */
  results: RecallLabResults | null = null;
  @state() private config: HymbaConfig | null = null;
  @state() private card: ModelCard | null = null;
  private chart: Element | null = null;
  /** Sequences per curve point (those not at `pairs`) so far. */
  @state() private curveBasis = 0;

  private currentModes(): LayerMode[] {
    return this.config ? repairModes(this.config, this.modes).modes : [];
  }

  protected override async compute(signal: AbortSignal): Promise<void> {
    const m = await loadZooModel(this.model, (p) => (this.progress = p));
    this.tierNote = engineNote(m, this.engine);
    const config = m.engine.config;
    this.config = config;
    this.card = await loadCard(this.model);
    const { modes, problems } = repairModes(config, this.modes);
    // Modes set for another model (a click on Model, an old link): repaired to the nearest valid ones, with a note,
    // never an error that hides the controls. The repaired value reruns compute() and goes into the URL.
    if (problems.length) {
      const repaired = modesText(config, modes);
      this.repairNote('modes', `Layer modes changed for “${this.model}”: ${problems.join('; ')}.`);
      if (repaired !== this.modes) {
        this.modes = repaired;
        await this.updateComplete;
        return;
      }
    }
    const ablation = ablationSpec(config, modes);
    const engine = queuedEngine(m, this.engine);
    const cacheOpts = { seqLen: mqar128().seqLen };
    const r: RecallLabResults = {
      model: this.model,
      pairs: this.pairs,
      modes,
      ablation,
      accuracy: NaN,
      correct: 0,
      total: 0,
      byDistance: {},
      examples: [],
      curve: [],
      cache: {
        effective: effectiveCache(config, modes, cacheOpts).total_bytes,
        trained: cacheBytes(config, cacheOpts).total_bytes,
        seqLen: cacheOpts.seqLen,
      },
    };
    this.results = r;
    this.accuracy = NaN;
    this.chart = null;
    this.curveBasis = 0;
    // The sequences at `pairs`, then the curve's other points (at `pairs` the curve reuses them when it asks for no
    // more), answered together: a batching engine answers a round in one or a few GPU passes. In rounds sized to
    // this device (sample-budget.ts): a pilot of PILOT main sequences with its share of the curve, timed, then as
    // many as fit `budget-ms`; the curve's points take curveSequences/sequences of each round's count.
    const curvePairs = this.curveSequences > 0 ? CURVE_PAIRS.filter((p) => p !== this.pairs || this.curveSequences > this.sequences) : [];
    const share = (k: number) => Math.ceil((k * this.curveSequences) / this.sequences);
    // By curve pairs, and 'main' for the sequences at `pairs`.
    const tallies = new Map<number | 'main', { correct: number; total: number; sequences: number }>(
      (['main', ...curvePairs] as const).map((p) => [p, { correct: 0, total: 0, sequences: 0 }]),
    );
    const byDistance: RecallLabResults['byDistance'][] = [];
    const updateCurve = () => {
      const curveAt = (pairs: number): PairsPoint | null => {
        const t = tallies.get(pairs) ?? (pairs === this.pairs && curvePairs.length ? tallies.get('main')! : null);
        return t && t.total > 0 ? { pairs, accuracy: t.correct / t.total, correct: t.correct, total: t.total } : null;
      };
      r.curve = CURVE_PAIRS.map(curveAt).filter((p): p is PairsPoint => p !== null);
      this.chart = this.plot();
      this.requestUpdate();
    };
    await measureInRounds(
      { max: this.sequences, ms: this.budgetMs, pilot: Math.min(PILOT, this.sequences) },
      async (from, n) => {
        const points: RecallPoint[] = [{ pairs: this.pairs, n, from }];
        const [cf, ct] = [share(from), share(from + n)];
        if (ct > cf) for (const pairs of curvePairs) points.push({ pairs, n: ct - cf, from: cf });
        const total = points.reduce((a, p) => a + p.n, 0);
        let done = 0;
        const [main] = await evaluatePoints(engine, mqar128(), points, {
          seed: this.seed,
          ablation,
          signal,
          firstBatches: from === 0 ? [1] : undefined,
          onExample: (answered, point) => {
            if (signal.aborted) return;
            this.reportProgress(signal, {
              what: from === 0 ? 'Answering a first few sequences' : `Answering more sequences (${from + n} at ${this.pairs} pairs)`,
              done: ++done,
              total,
              unit: 'sequences',
            });
            const t = tallies.get(point === 0 ? 'main' : points[point].pairs)!;
            t.correct += answered.queries.filter((q) => q.correct).length;
            t.total += answered.queries.length;
            t.sequences++;
            if (point === 0) {
              r.examples.push(answered);
              r.total = t.total;
              r.correct = t.correct;
              r.accuracy = r.correct / r.total;
              this.accuracy = r.accuracy;
            }
          },
        });
        if (signal.aborted) return;
        byDistance.push(main.byDistance);
        r.byDistance = mergeDistance(byDistance);
        this.curveBasis = curvePairs.length ? tallies.get(curvePairs[0])!.sequences : 0;
        updateCurve();
      },
      { signal },
    );
    if (!signal.aborted) updateCurve();
  }

  protected override partialNote(): string {
    const n = this.results?.examples.length ?? 0;
    return `The accuracy and the curve are partial: they rest on the ${n} ${n === 1 ? 'sequence' : 'sequences'} answered before you cancelled.`;
  }

  private setModes(modes: LayerMode[]): void {
    this.repairNote('modes', '');
    this.modes = modesText(this.config!, modes);
  }

  private setLayer(layer: number, mode: LayerMode): void {
    const modes = this.currentModes();
    modes[layer] = mode;
    this.setModes(modes);
  }

  /** Every layer keeps only its SSM (a layer without one goes silent). */
  private attentionOff(): LayerMode[] {
    const c = this.config!;
    return c.layers.map((l, i) => (l.hasAttention ? (l.hasSsm ? 'ssm' : 'off') : trainedMode(c, i)));
  }

  private plot(): Element | null {
    const r = this.results;
    if (!r || r.curve.length === 0) return null;
    const live = r.curve.map((p) => ({ ...p, series: MEANINGS[r.ablation ? 'ablated' : 'measured'].label }));
    const card = Object.entries(this.card?.accuracy?.by_pairs ?? {}).map(([pairs, accuracy]) => ({
      pairs: Number(pairs),
      accuracy,
      series: MEANINGS.recorded.label,
    }));
    return Plot.plot({
      width: chartWidth(this, 560),
      height: this.presenter ? 180 : 240,
      // Room for "100%" in the slide's larger tick text.
      marginLeft: this.presenter ? 62 : undefined,
      x: { label: 'key–value pairs per sequence', domain: [2, 26], grid: true },
      y: { label: 'accuracy', domain: [0, 1], tickFormat: '.0%', grid: true },
      color: meaningScale(['recorded', 'measured', 'ablated']),
      marks: [
        Plot.line(card, { x: 'pairs', y: 'accuracy', stroke: 'series', strokeDasharray: '4 3' }),
        Plot.dot(card, { x: 'pairs', y: 'accuracy', stroke: 'series', symbol: 'square' }),
        Plot.line(live, { x: 'pairs', y: 'accuracy', stroke: 'series', strokeWidth: 2 }),
        Plot.dot(live, { x: 'pairs', y: 'accuracy', fill: 'series', r: 4, tip: true }),
        Plot.ruleX([this.pairs], { stroke: NEUTRAL, strokeDasharray: '2 3' }),
      ],
    });
  }

  protected override renderBody(): TemplateResult {
    const c = this.config;
    if (!c) return html`<p class="note">Loading the model “${this.model}”…</p>`;
    const modes = this.currentModes();
    const attnLayers = c.layers.filter((l) => l.hasAttention);
    const allAttnOff = attnLayers.length > 0 && attnLayers.every((l) => modes[l.index] === 'ssm' || modes[l.index] === 'off');
    const r = this.results;
    return html`
      <div class="controls">
        ${
          this.isHidden('model')
            ? ''
            : html`<label
                >Model
                <select name="model" .value=${this.model} @change=${(e: Event) => (this.model = (e.target as HTMLSelectElement).value)}>
                  ${ZOO_NAMES.includes(this.model) ? '' : html`<option>${this.model}</option>`}
                  ${ZOO_NAMES.map((n) => html`<option ?selected=${n === this.model}>${n}</option>`)}
                </select></label
              >`
        }
        ${
          this.isHidden('pairs')
            ? ''
            : html`<label
                >Pairs <strong>${this.pairs}</strong>
                <input
                  type="range"
                  name="pairs"
                  min="4"
                  max="24"
                  step="1"
                  .value=${String(this.pairs)}
                  @change=${(e: Event) => (this.pairs = Number((e.target as HTMLInputElement).value))}
              /></label>`
        }
        <button type="button" name="new-sequences" @click=${() => (this.seed = (this.seed + 1) % 2 ** 31)}>New sequences</button>
      </div>
      ${
        attnLayers.length && !this.isHidden('modes')
          ? html`<p>
              <button
                type="button"
                class="big"
                name="attention-off"
                aria-pressed=${allAttnOff ? 'true' : 'false'}
                @click=${() => this.setModes(allAttnOff ? c.layers.map((_, i) => trainedMode(c, i)) : this.attentionOff())}
              >
                ${allAttnOff ? 'Switch the attention heads back on' : 'Switch the attention heads off'}
              </button>
            </p>`
          : ''
      }
      ${this.isHidden('modes') ? '' : this.renderLayers(c, modes)} ${this.renderHeadline(r)} ${this.renderCache(r)}
      <div class="legend note">
        <span><span style="color:${RIGHT.colour}">${RIGHT.glyph}</span> right answer</span>
        <span><span style="color:${WRONG.colour}">${WRONG.glyph}</span> wrong answer (the right value in brackets)</span>
        <span>_ blank</span>
      </div>
      ${this.renderExamples(r?.examples ?? [], c.vocabSize)}
      <div class="chart">${this.chart}</div>
      ${
        r && r.curve.length
          ? numbersTable(
              r.curve.map((p) => ({ pairs: p.pairs, accuracy: pct(p.accuracy), answers: `${p.correct}/${p.total}` })),
              ['pairs', 'accuracy', 'answers'],
              'accuracy against the number of pairs',
            )
          : ''
      }
      ${this.renderExports({
        rows: () => (this.results?.curve ?? []).map((p) => ({ model: this.model, ablation: this.results!.ablation, ...p })),
        columns: ['model', 'ablation', 'pairs', 'accuracy', 'correct', 'total'],
        json: () => this.results,
        svg: () => this.chart,
      })}
      ${this.isHidden('code') ? '' : codePanel(recallSnippet({ model: this.model, pairs: this.pairs, n: this.sequences, seed: this.seed, ablation: r?.ablation ?? '' }))}
    `;
  }

  /** The first answered sequences, as tokens; one on a presenter slide (a whole sequence is many rows of tokens). */
  private renderExamples(examples: readonly AnsweredExample[], vocab: number): TemplateResult {
    const shown = this.presenter ? 1 : SHOWN;
    const note =
      this.presenter && examples.length > shown
        ? html`<p class="note presenter-limit">
            On this slide: 1 example sequence; the lesson page shows ${Math.min(SHOWN, examples.length)}.
          </p>`
        : '';
    return html`${examples.slice(0, shown).map((ex, i) => this.renderSequence(ex, i, vocab))}${note}`;
  }

  private renderLayers(c: HymbaConfig, modes: LayerMode[]): TemplateResult {
    return html`<div class="layers" role="group" aria-label="Heads per layer">
      ${c.layers.map(
        (l, i) =>
          html`<fieldset data-layer=${i}>
            <legend>
              Layer
              ${i}${l.hasAttention ? ` (${l.global ? 'global' : `window ${c.slidingWindow}`}${l.ownsKv ? '' : `, K/V of layer ${l.kvSource}`})` : ''}
            </legend>
            ${modesOf(c, i).map(
              (mode) =>
                html`<label
                  ><input
                    type="radio"
                    name=${`layer-${i}`}
                    value=${mode}
                    .checked=${modes[i] === mode}
                    @change=${() => this.setLayer(i, mode)}
                  />
                  ${MODE_TEXT[mode]}</label
                >`,
            )}
          </fieldset>`,
      )}
    </div>`;
  }

  private renderHeadline(r: RecallLabResults | null): TemplateResult {
    if (!r || r.total === 0) return html`<p class="headline">Answering fresh sequences…</p>`;
    const done = r.examples.length;
    return html`<p class="headline" aria-live="polite">
        Accuracy at ${r.pairs} pairs: <strong class="accuracy">${pct(r.accuracy)}</strong> (${r.correct} of ${r.total} answers right,
        ${done} ${done === 1 ? 'sequence' : 'sequences'}${this.status === 'ready' ? '' : ' so far'}).
        ${r.ablation ? html`<span class="note">Ablation: <code>${r.ablation}</code>.</span>` : html`<span class="note">The model as trained.</span>`}
      </p>
      <p class="note basis" data-basis>
        Based on ${done} fresh
        ${done === 1 ? 'sequence' : 'sequences'}${this.curveBasis ? ` (and ${this.curveBasis} per other point of the curve)` : ''}${this.status === 'ready' && !this.cancelNote ? '' : ' so far'}:
        at most ${this.sequences}, as many as this device answers in ${Math.round(this.budgetMs / 1000)} s.
      </p>`;
  }

  private renderCache(r: RecallLabResults | null): TemplateResult {
    if (!r) return html``;
    const saved = r.cache.trained - r.cache.effective;
    return html`<p class="cache">
      Cache at ${r.cache.seqLen} tokens: <strong class="cache-bytes">${formatBytes(r.cache.effective)}</strong>${
        saved > 0 ? html` (the trained model allocates ${formatBytes(r.cache.trained)})` : ''
      }.
      <span class="note"
        >This is the cache of the architecture that remains: a layer whose attention is off computes no keys and values, unless a layer that
        still attends reads them (cross-layer sharing); a layer whose SSM is off keeps no SSM or conv state. Switching heads off in a
        trained model does not make it a model trained that way.</span
      >
    </p>`;
  }

  private renderSequence(ex: AnsweredExample, index: number, vocab: number): TemplateResult {
    const byPos = new Map(ex.queries.map((q) => [q.pos, q]));
    return html`<div class="seq" data-sequence=${index} aria-label=${`sequence ${index + 1}`}>
      ${ex.ids.map((id, pos) => {
        const q = byPos.get(pos);
        const tok = html`<span class="tok ${id === 0 ? 'blank' : ''}">${label(id, vocab)}</span>`;
        if (!q) return tok;
        const mark = q.correct ? RIGHT : WRONG;
        return html`${tok}<span
            class="ans ${q.correct ? 'right' : 'wrong'}"
            style="background:${mark.colour}"
            title=${q.correct ? `right: ${label(q.value, vocab)}` : `wrong: answered ${label(q.predicted, vocab)}, the value was ${label(q.value, vocab)}`}
            >→ ${label(q.predicted, vocab)} ${mark.glyph}${q.correct ? '' : ` (${label(q.value, vocab)})`}</span
          >`;
      })}
    </div>`;
  }
}

define('hymba-recall-lab', HymbaRecallLab);

declare global {
  interface HTMLElementTagNameMap {
    'hymba-recall-lab': HymbaRecallLab;
  }
}
