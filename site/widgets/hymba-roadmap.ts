// <hymba-roadmap pairs="16" sequences="32">
// The Hymba paper's design roadmap (Table 1) in miniature: for each design step, the zoo model built that way —
// its recall on MQAR-128 (measured here, on fresh sequences), its cache (the engine's calculator, at 128 tokens)
// and its speed (tokens per second, measured in this browser) — beside the paper's Table 1 numbers for the 300M
// models (recall averaged over SWDE and SQuAD-C; cache at 8k tokens, FP16; throughput on an A100 at 8k, batch 128).
import { css, html, type TemplateResult } from 'lit';
import { state } from 'lit/decorators.js';
import * as Plot from '@observablehq/plot';
import { cacheBytes } from '../../engine/cache/calculator.ts';
import { evaluatePoints, FRESH_SEED, freshExamples, mqar128, tokensPerSecond } from '../../engine/analysis/recall.ts';
import { define } from '../lib/base/widget-base.ts';
import { LabWidget, numbersTable } from '../lib/base/lab-widget.ts';
import { formatBytes, pageController, requestKey } from '../lib/page/engine-controller.ts';
import { codePanel } from '../lib/base/code-panel.ts';
import { MEANINGS, meaningScale } from '../lib/base/palette.ts';
import { chartWidth } from '../lib/base/theme.ts';
import type { Schema } from '../lib/base/url-state.ts';
import { pct } from '../lib/features/recall-shared.ts';
import { sequencesWithin } from '../../engine/analysis/sample-budget.ts';
import type { LoadedModel } from '../lib/page/engine-controller.ts';
import { cpuTierSequences, engineFor, engineNote, loadZooModel, queuedEngine, type EngineChoice } from '../lib/page/queued-engine.ts';
import { roadmapSnippet } from '../lib/content/recall-snippets.ts';

/** Table 1 of Dong et al. (2024), "Hymba: A Hybrid-head Architecture for Small Language Models", arXiv 2411.13676
 * (300M models, 100B tokens), as typed in hymba-spec.md §4.2. */
export const PAPER_TABLE_1 = [
  {
    step: 'Transformer (Llama)',
    model: 'attention',
    recall: 39.98,
    throughput: 721.1,
    cacheMB: 414.7,
    reason: 'Accurate recall while inefficient',
  },
  {
    step: 'State space model (Mamba)',
    model: 'ssm',
    recall: 19.23,
    throughput: 4720.8,
    cacheMB: 1.9,
    reason: 'Efficient while inaccurate recall',
  },
  {
    step: 'A. + attention heads (sequential)',
    model: 'sequential',
    recall: 45.16,
    throughput: 776.3,
    cacheMB: 156.3,
    reason: 'Enhance recall capabilities',
  },
  {
    step: 'B. + multi-head structure (parallel)',
    model: 'parallel',
    recall: 49.9,
    throughput: 876.7,
    cacheMB: 148.2,
    reason: 'Better balance of two modules',
  },
  {
    step: 'C. + local / global attention',
    model: 'parallel-swa',
    recall: 48.79,
    throughput: 2399.7,
    cacheMB: 41.2,
    reason: 'Boost compute/cache efficiency',
  },
  { step: 'D. + KV cache sharing', model: 'parallel-swa-kv', recall: 48.04, throughput: 2756.5, cacheMB: 39.4, reason: 'Cache efficiency' },
  { step: 'E. + meta tokens', model: 'hymba', recall: 51.79, throughput: 2695.8, cacheMB: 40.0, reason: 'Learned memory initialization' },
] as const;

/** Sequences per model in the first pass: a number on every row soon, whatever the device. */
const PILOT = 2;

export interface RoadmapRow {
  step: string;
  model: string;
  /** Ours: MQAR-128 accuracy at `pairs` (fresh sequences), cache bytes at 128 tokens, prefill tokens/s here. */
  recall: number | null;
  answers: string;
  /** The answers and sequences the recall rests on (it grows as the second pass tops it up). */
  correct: number;
  total: number;
  sequences: number;
  cacheBytes: number | null;
  tokensPerSecond: number | null;
  /** Why a row has no numbers (e.g. the model is not on the site). */
  note: string;
  paper: (typeof PAPER_TABLE_1)[number];
}

export class HymbaRoadmap extends LabWidget {
  /** compute() checks its signal between calls (batches, tokens): Cancel stops it there. */
  static override cancellableCompute = true;

  static override styles = [
    LabWidget.styles,
    css`
      /* A tall figure: on a presenter slide it takes two of the slide's columns (theme.ts presenterStyles). */
      :host {
        --slide-columns: 2;
      }
      /* The roadmap table needs the slide's whole width; the notes and the chart share the columns below it. The
         table's text is a little smaller there, so the chart below it keeps the slide's figure size. */
      :host([presenter]) > .scroll {
        column-span: all;
      }
      :host([presenter]) table.roadmap {
        font-size: 0.8em;
      }
      :host([presenter]) table.roadmap :is(th, td) {
        padding-block: 0.1rem;
      }
      table.roadmap {
        border-collapse: collapse;
        font-size: 0.85rem;
        width: 100%;
        font-variant-numeric: tabular-nums;
      }
      table.roadmap th,
      table.roadmap td {
        border-bottom: 1px solid var(--hl-border, #d0d4da);
        padding: 0.25rem 0.4rem;
        text-align: right;
      }
      table.roadmap th:first-child,
      table.roadmap td:first-child {
        text-align: left;
      }
      table.roadmap .paper {
        color: var(--hl-muted, #5f6670);
      }
      .scroll {
        overflow-x: auto;
      }
    `,
  ];

  static override settings: Schema = {
    pairs: { kind: 'number', default: 16, min: 4, max: 24, int: true },
    sequences: { kind: 'number', default: 32, min: 1, max: 64, int: true },
    seed: { kind: 'number', default: FRESH_SEED, min: 0, max: 2 ** 31 - 1, int: true },
    engine: { kind: 'enum', default: 'auto', values: ['auto', 'cpu'] },
    speedMs: { kind: 'number', default: 400, min: 0, max: 2000, int: true },
    budgetMs: { kind: 'number', default: 30_000, min: 500, max: 600_000, int: true },
  };

  declare pairs: number;
  /** Fresh sequences per model at most; fewer on a slow device (sized to `budget-ms`). */
  declare sequences: number;
  /** How long the recall measurements of all seven models may take on this device (ms). */
  declare budgetMs: number;
  /** Sequences measured per model so far (the fewest of any row). */
  @state() measuredSequences = 0;
  declare seed: number;
  /** auto: the page's engine (WebGPU when available); cpu: the CPU reference engine. */
  declare engine: EngineChoice;
  /** Skip the speed measurement (0) or measure for at least this many ms per model. */
  declare speedMs: number;

  /** One row per roadmap step, filled in as each model is measured. Tests read it. */
  @state() rows: RoadmapRow[] = [];
  private chart: Element | null = null;
  /**
   * Two passes, so every row shows a number soon on any device: first each model on PILOT sequences (timed) and its
   * speed; then each model topped up with the next sequences of the same stream, as many as its share of
   * `budget-ms` allows at the pace its pilot measured (up to `sequences`).
   */
  protected override async compute(signal: AbortSignal): Promise<void> {
    this.rows = PAPER_TABLE_1.map((paper) => ({
      step: paper.step,
      model: paper.model,
      recall: null,
      answers: '',
      correct: 0,
      total: 0,
      sequences: 0,
      cacheBytes: null,
      tokensPerSecond: null,
      note: 'waiting…',
      paper,
    }));
    this.measuredSequences = 0;
    const failures: string[] = [];
    const models: Array<{ m: LoadedModel; msPerSequence: number } | null> = [];
    const steps = PAPER_TABLE_1.length;
    for (const [i, paper] of PAPER_TABLE_1.entries()) {
      if (signal.aborted) return;
      this.reportProgress(signal, { what: `First pass: ${paper.model}`, done: i, total: steps, unit: 'models' });
      const row = { ...this.rows[i] };
      try {
        const m = await loadZooModel(paper.model, (p) => (this.progress = p));
        this.tierNote = engineNote(m, this.engine);
        row.cacheBytes = cacheBytes(m.engine.config, { seqLen: mqar128().seqLen }).total_bytes;
        const pilot = Math.min(PILOT, cpuTierSequences(m, this.sequences));
        const t0 = performance.now();
        // The first row on screen as soon as it has a number: its first sequence alone, then the rest of its pilot.
        const first = i === 0 ? 1 : pilot;
        await this.measure(m, row, 0, first, signal);
        if (first < pilot) {
          if (signal.aborted) return;
          this.setRow(i, { ...row, note: '' });
          await this.measure(m, row, first, pilot - first, signal);
        }
        models[i] = { m, msPerSequence: (performance.now() - t0) / pilot };
        if (signal.aborted) return;
        // The recall is on screen before the speed run (which also compiles the decode kernels).
        this.setRow(i, { ...row, note: '' });
        if (this.speedMs > 0) {
          const ids = Array.from(freshExamples(mqar128(), this.pairs, 1, this.seed)[0].ids);
          // A fresh key each time: a speed measurement must run, never be served from the result cache.
          const key = requestKey(paper.model, 'speed', { at: performance.now(), widget: this.id });
          row.tokensPerSecond = await pageController().run(key, () =>
            tokensPerSecond(engineFor(m, this.engine), ids, { minMs: m.tier === 'cpu' ? Math.min(this.speedMs, 100) : this.speedMs }),
          );
        }
        row.note = '';
      } catch (e) {
        if (signal.aborted) return;
        models[i] = null;
        row.note = (e as Error).message;
        failures.push(`${paper.model}: ${row.note}`);
      }
      if (signal.aborted) return;
      this.setRow(i, row);
    }
    if (failures.length === PAPER_TABLE_1.length) throw new Error(`No roadmap model could be measured. ${failures[0]}`);
    // Second pass: each model's share of the budget at its own measured pace.
    const plan = models.map((x) =>
      x ? sequencesWithin({ max: cpuTierSequences(x.m, this.sequences), ms: this.budgetMs / steps, pilot: PILOT }, x.msPerSequence) : 0,
    );
    const total = plan.reduce((a, n, i) => a + Math.max(0, n - this.rows[i].sequences), 0);
    let done = 0;
    for (const [i, x] of models.entries()) {
      const row = { ...this.rows[i] };
      const more = plan[i] - row.sequences;
      if (!x || more <= 0) continue;
      if (signal.aborted) return;
      this.reportProgress(signal, { what: `Second pass: more sequences for ${row.model}`, done, total, unit: 'sequences' });
      await this.measure(x.m, row, row.sequences, more, signal);
      if (signal.aborted) return;
      done += more;
      this.setRow(i, row);
    }
  }

  /** Answer sequences from..from+n-1 on `m` and add them to the row's count. */
  private async measure(m: LoadedModel, row: RoadmapRow, from: number, n: number, signal: AbortSignal): Promise<void> {
    const [r] = await evaluatePoints(queuedEngine(m, this.engine), mqar128(), [{ pairs: this.pairs, n, from }], {
      seed: this.seed,
      signal,
    });
    if (signal.aborted) return;
    row.correct += r.correct;
    row.total += r.total;
    row.sequences += n;
    row.recall = row.correct / row.total;
    row.answers = `${row.correct}/${row.total}`;
  }

  private setRow(i: number, row: RoadmapRow): void {
    this.rows = this.rows.map((r, j) => (j === i ? row : r));
    const measured = this.rows.filter((r) => r.sequences > 0);
    this.measuredSequences = measured.length ? Math.min(...measured.map((r) => r.sequences)) : 0;
    this.chart = this.plot();
  }

  protected override partialNote(): string {
    return `The table is partial: each recall rests on the sequences answered before you cancelled (see "Sequences").`;
  }

  private plot(): Element {
    const measured = this.rows.filter((r) => r.recall !== null);
    const data = [
      ...measured.map((r) => ({ step: r.step, source: MEANINGS.zoo.label, recall: r.recall! })),
      ...this.rows.map((r) => ({ step: r.step, source: MEANINGS.paper.label, recall: r.paper.recall / 100 })),
    ];
    const common = {
      width: chartWidth(this, 640),
      x: { label: 'recall accuracy', domain: [0, 1], tickFormat: '.0%', grid: true },
      color: meaningScale(['zoo', 'paper']),
    };
    if (!this.presenter) {
      return Plot.plot({
        ...common,
        height: 260,
        marginLeft: 210,
        y: { label: null, domain: this.rows.map((r) => r.step) },
        fy: { axis: null },
        marks: [Plot.barX(data, { y: 'step', x: 'recall', fill: 'source', fy: 'source', tip: true }), Plot.ruleX([0])],
      });
    }
    // On a slide (16 px text, theme.ts): one band per step with its two bars, so each step is named once, in a band
    // tall enough for its name.
    return Plot.plot({
      ...common,
      height: 250,
      marginLeft: 320,
      marginRight: 30,
      fy: { label: null, domain: this.rows.map((r) => r.step) },
      y: { axis: null, domain: [MEANINGS.zoo.label, MEANINGS.paper.label] },
      marks: [Plot.barX(data, { fy: 'step', y: 'source', x: 'recall', fill: 'source', tip: true }), Plot.ruleX([0])],
    });
  }

  protected override renderBody(): TemplateResult {
    return html`
      <div class="scroll">
        <table class="roadmap">
          <caption class="visually-hidden">
            The design roadmap: our measurements beside the paper's Table 1
          </caption>
          <thead>
            <tr>
              <th scope="col">Step</th>
              <th scope="col">Zoo model</th>
              <th scope="col">Recall (ours)</th>
              <th scope="col">Sequences</th>
              <th scope="col" class="paper">Recall (paper)</th>
              <th scope="col">Cache (ours, 128 tok)</th>
              <th scope="col" class="paper">Cache (paper, 8k)</th>
              <th scope="col">Tokens/s (ours, here)</th>
              <th scope="col" class="paper">Tokens/s (paper, A100)</th>
            </tr>
          </thead>
          <tbody>
            ${this.rows.map(
              (r) =>
                html`<tr data-model=${r.model} data-measured=${r.recall !== null ? 'true' : 'false'}>
                  <th scope="row">${r.step}</th>
                  <td><code>${r.model}</code></td>
                  <td class="recall" data-result="cell" title=${r.answers ? `${r.answers} answers right` : r.note}>
                    ${r.recall === null ? (r.note === 'waiting…' ? '…' : '–') : pct(r.recall)}
                  </td>
                  <td class="sequences">${r.sequences || '…'}</td>
                  <td class="paper">${r.paper.recall.toFixed(2)}%</td>
                  <td class="cache">${r.cacheBytes === null ? '…' : formatBytes(r.cacheBytes)}</td>
                  <td class="paper">${r.paper.cacheMB} MB</td>
                  <td class="speed">${r.tokensPerSecond === null ? '…' : Math.round(r.tokensPerSecond).toLocaleString('en')}</td>
                  <td class="paper">${r.paper.throughput.toLocaleString('en')}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
      ${this.rows.filter((r) => r.note && r.note !== 'waiting…').map((r) => html`<p class="note">${r.model}: ${r.note}</p>`)}
      ${this.measuredSequences ? html`<p class="note basis" data-basis>${this.basis()}</p>` : ''}
      <p class="note">
        Paper: Dong et al. (2024), Table 1 (300M parameters, 100B tokens; recall = mean of SWDE and SQuAD-C; cache at 8k tokens in FP16;
        throughput on one A100 at 8k tokens, batch 128). Ours: the Hymba Lab zoo (about 250k parameters, trained on a mixture of MQAR-128,
        selective copying and a majority task; the shipped weights are seed 1's), recall on fresh MQAR sequences with ${this.pairs} pairs
        (as many per model as this device answers in its time budget, at most ${this.sequences}); cache bytes from the engine's calculator
        (FP16 KV, FP32 SSM state) at 128 tokens; tokens/s of one 128-token prefill on this device, which for a model this small measures
        dispatch overhead more than arithmetic. The two columns answer the same question at very different scales: compare the direction of
        each step, not the values.
      </p>
      <div class="chart" data-result>${this.chart}</div>
      <div data-result>
        ${numbersTable(this.exportRows(), ['step', 'model', 'recall', 'sequences', 'paper_recall', 'cache_bytes', 'paper_cache_mb', 'tokens_per_second', 'paper_tokens_per_second'], 'roadmap numbers')}
      </div>
      ${this.renderExports({
        rows: () => this.exportRows(),
        columns: [
          'step',
          'model',
          'recall',
          'sequences',
          'paper_recall',
          'cache_bytes',
          'paper_cache_mb',
          'tokens_per_second',
          'paper_tokens_per_second',
        ],
        svg: () => this.chart,
      })}
      ${this.isHidden('code') ? '' : codePanel(roadmapSnippet({ models: PAPER_TABLE_1.map((p) => p.model), pairs: this.pairs, n: this.sequences, seed: this.seed }))}
    `;
  }

  /** How many sequences the recall column rests on. */
  private basis(): string {
    const counts = this.rows.filter((r) => r.sequences > 0).map((r) => r.sequences);
    const lo = Math.min(...counts);
    const hi = Math.max(...counts);
    const of = this.status === 'ready' && !this.cancelNote ? '' : ' so far';
    return `Recall based on ${lo === hi ? lo : `${lo}–${hi}`} fresh ${hi === 1 ? 'sequence' : 'sequences'} per model${of} (at most ${this.sequences}: the number is sized to this device's speed).`;
  }

  private exportRows() {
    return this.rows.map((r) => ({
      step: r.step,
      model: r.model,
      recall: r.recall === null ? '' : Number(r.recall.toFixed(4)),
      sequences: r.sequences,
      paper_recall: r.paper.recall / 100,
      cache_bytes: r.cacheBytes ?? '',
      paper_cache_mb: r.paper.cacheMB,
      tokens_per_second: r.tokensPerSecond === null ? '' : Math.round(r.tokensPerSecond),
      paper_tokens_per_second: r.paper.throughput,
    }));
  }
}

define('hymba-roadmap', HymbaRoadmap);

declare global {
  interface HTMLElementTagNameMap {
    'hymba-roadmap': HymbaRoadmap;
  }
}
