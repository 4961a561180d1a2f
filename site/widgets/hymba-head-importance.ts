// <hymba-head-importance model="hymba" pairs="16" sequences="16" tasks="mqar,copy">
// The Hymba paper's head-importance study (Sec. 2.1, Fig. 3, App. C) on a trained zoo model: remove each layer's
// attention branch, then its SSM branch (zero its β share of the fusion), measure how much accuracy drops on MQAR
// and on selective copying, and draw the drops as a layers × branch heat-map. Beside it, the learned fusion gains:
// mean |β1| (attention) and mean |β2| (SSM) per layer, read from the weights pre_avg_layernorm1/2.
import { css, html, type TemplateResult } from 'lit';
import { state } from 'lit/decorators.js';
import * as Plot from '@observablehq/plot';
import { weightF32 } from '../../engine/checkpoint/load.ts';
import type { Task } from '../../engine/tasks/types.ts';
import {
  betaGains,
  FRESH_SEED,
  headImportance,
  mergeCells,
  mqar128,
  selectiveCopy,
  type ImportanceCell,
  type LayerGains,
} from '../../engine/analysis/recall.ts';
import { define } from '../lib/base/widget-base.ts';
import { LabWidget, numbersTable } from '../lib/base/lab-widget.ts';
import { codePanel } from '../lib/base/code-panel.ts';
import { MEANINGS, meaningScale } from '../lib/base/palette.ts';
import type { Schema } from '../lib/base/url-state.ts';
import { pct } from '../lib/features/recall-shared.ts';
import { measureInRounds } from '../../engine/analysis/sample-budget.ts';
import { cpuTierSequences, engineNote, loadZooModel, queuedEngine, type EngineChoice } from '../lib/page/queued-engine.ts';
import { ZOO_NAMES } from '../../engine/train/zoo.ts';
import { importanceSnippet } from '../lib/content/recall-snippets.ts';

const TASK_TEXT: Record<string, string> = { mqar: 'MQAR-128 (recall)', copy: 'selective copying' };
const BRANCH_TEXT = { attn: 'attention', ssm: 'SSM' } as const;
/** Intact accuracy under which a task counts as not learned (a guess: MQAR 1 in 256, copying about 1 in 14). */
const UNLEARNED_BELOW: Record<string, number> = { mqar: 0.1, copy: 0.2 };
const CHANCE_TEXT: Record<string, string> = { mqar: '0.4%', copy: '7%' };
/** A change in points, signed with a true minus (0 unsigned): the heat-map's cells and legend. */
const signedPoints = (x: number): string => {
  const r = Math.round(x);
  return r === 0 ? '0' : `${r > 0 ? '+' : '−'}${Math.abs(r)}`;
};

export class HymbaHeadImportance extends LabWidget {
  /** compute() checks its signal between calls (batches, tokens): Cancel stops it there. */
  static override cancellableCompute = true;

  static override styles = [
    LabWidget.styles,
    css`
      /* Each chart keeps the width it is drawn at (so its 12 px text is not shrunk); they wrap on a narrow screen. */
      .charts {
        display: flex;
        flex-wrap: wrap;
        gap: 1rem;
      }
      .charts figure {
        margin: 0;
        max-width: 100%;
        overflow-x: auto;
      }
      h5 {
        margin: 0.75rem 0 0.25rem;
        font-size: 0.9rem;
      }
      .finding {
        border-left: 4px solid var(--hl-c-ssm);
        padding: 0.3rem 0.7rem;
      }
    `,
  ];

  static override settings: Schema = {
    model: { kind: 'string', default: 'hymba', maxLength: 40, pattern: /^[A-Za-z0-9_-]+$/ },
    pairs: { kind: 'number', default: 16, min: 4, max: 24, int: true },
    sequences: { kind: 'number', default: 16, min: 1, max: 64, int: true },
    seed: { kind: 'number', default: FRESH_SEED, min: 0, max: 2 ** 31 - 1, int: true },
    budgetMs: { kind: 'number', default: 30_000, min: 500, max: 600_000, int: true },
    engine: { kind: 'enum', default: 'auto', values: ['auto', 'cpu'] },
    tasks: { kind: 'enum', default: 'mqar,copy', values: ['mqar,copy', 'copy,mqar', 'mqar', 'copy'] },
  };

  declare model: string;
  /** MQAR pairs per sequence. */
  declare pairs: number;
  /** Sequences per measurement (each cell is one ablated run over them). */
  declare sequences: number;
  declare seed: number;
  /** How long the whole sweep may take on this device (ms): the number of sequences is sized to it. */
  declare budgetMs: number;
  /** auto: the page's engine (WebGPU when available); cpu: the CPU reference engine. */
  declare engine: EngineChoice;
  /** Tasks, comma separated: mqar, copy. */
  declare tasks: string;

  /** One cell per (task, layer, branch), filled in as they are measured, refined round by round. Tests read it. */
  @state() cells: ImportanceCell[] = [];
  /**
   * The intact model's accuracy per task from the first round, shown at once (the figure's first number on a slow
   * device), until that task's first cell arrives. Tests read it.
   */
  @state() baselines: Array<{ task: string; accuracy: number; sequences: number }> = [];
  /** The sequences every cell rests on once the current round is done (the figure says so). */
  @state() measuredSequences = 0;
  /** Mean |β| per layer and branch. */
  @state() gains: LayerGains[] = [];
  private heatmaps: Element[] = [];
  private gainChart: Element | null = null;

  private taskList(): Task[] {
    const names = this.tasks.split(/[\s,]+/).filter(Boolean);
    return names.map((n) => {
      if (n === 'mqar') return mqar128();
      if (n === 'copy') return selectiveCopy();
      throw new Error(`unknown task "${n}" in tasks="${this.tasks}" (tasks: mqar, copy)`);
    });
  }

  protected override async compute(signal: AbortSignal): Promise<void> {
    const tasks = this.taskList();
    const m = await loadZooModel(this.model, (p) => (this.progress = p));
    this.tierNote = engineNote(m, this.engine);
    const config = m.engine.config;
    this.gains = betaGains(config, (name) => {
      const w = m.checkpoint.weights.get(name);
      return w ? weightF32(w) : undefined;
    });
    this.gainChart = null;
    // Drawn on the next task, while the GPU answers the first sequence (not before it: that would delay it).
    setTimeout(() => {
      if (signal.aborted) return;
      this.gainChart = this.plotGains();
      this.requestUpdate();
    });
    this.cells = [];
    this.baselines = [];
    this.heatmaps = [];
    this.measuredSequences = 0;
    const engine = queuedEngine(m, this.engine);
    const max = cpuTierSequences(m, this.sequences);
    // A one-sequence pilot over every cell (its first calls: the intact run alone, its accuracy shown at once, then
    // one removal alone, the first cell), timed; then as many sequences as fit the budget at that pace, in rounds
    // that refine every cell.
    await measureInRounds(
      { max, ms: this.budgetMs },
      async (from, n) => {
        const before = new Map(this.cells.map((c) => [`${c.task}:${c.branch}@${c.layer}`, c]));
        await headImportance(engine, {
          tasks,
          pairs: this.pairs,
          n,
          from,
          seed: this.seed,
          signal,
          firstBatches: from === 0 ? [1, 1] : undefined,
          onProgress: (done, total) =>
            this.reportProgress(signal, {
              what: from === 0 ? 'Removing each branch in turn (a first sequence)' : `Refining on sequences ${from + 1}–${from + n}`,
              done,
              total,
              unit: 'sequences',
            }),
          onBaseline: (task, accuracy, sequences) => {
            if (!signal.aborted && from === 0) this.baselines = [...this.baselines, { task, accuracy, sequences }];
          },
          onCell: (cell) => {
            if (signal.aborted) return;
            const key = `${cell.task}:${cell.branch}@${cell.layer}`;
            const old = before.get(key);
            const merged = old ? mergeCells(old, cell) : cell;
            const i = this.cells.findIndex((c) => `${c.task}:${c.branch}@${c.layer}` === key);
            this.cells = i < 0 ? [...this.cells, merged] : this.cells.map((c, j) => (j === i ? merged : c));
            this.heatmaps = this.plotHeatmaps(config.numLayers);
          },
        });
        if (!signal.aborted) this.measuredSequences = from + n;
      },
      { signal },
    );
  }

  /** How many sequences the figure rests on (cells of an unfinished round rest on a few more). */
  private basis(): string {
    const counts = this.cells.map((c) => c.sequences);
    if (!counts.length) return '';
    const lo = Math.min(...counts);
    const hi = Math.max(...counts);
    const n = lo === hi ? `${lo}` : `${lo}–${hi}`;
    const of = this.status === 'ready' && !this.cancelNote ? '' : ' so far';
    return `Based on ${n} fresh ${hi === 1 ? 'sequence' : 'sequences'} per cell${of} (at most ${this.sequences}: the number is sized to this device's speed).`;
  }

  /** The intact accuracy of each task whose cells have not arrived yet: what the heat-map will be measured against. */
  private renderPendingBaselines(): TemplateResult | string {
    const pending = this.baselines.filter((b) => !this.cells.some((c) => c.task === b.task));
    if (!pending.length) return '';
    return html`${pending.map(
      (b) =>
        html`<p class="note" data-baseline data-result>
          ${TASK_TEXT[b.task] ?? b.task}: the intact model answers ${pct(b.accuracy)} (on ${b.sequences}
          ${b.sequences === 1 ? 'sequence' : 'sequences'} so
          far).${this.working ? ' Removing each branch in turn to see what it costs…' : ''}
        </p>`,
    )}`;
  }

  protected override partialNote(): string {
    return `The heat-map is partial: ${this.cells.length} cells, each on the sequences answered before you cancelled.`;
  }

  private plotHeatmaps(layers: number): Element[] {
    const byTask = new Map<string, ImportanceCell[]>();
    for (const c of this.cells) byTask.set(c.task, [...(byTask.get(c.task) ?? []), c]);
    return [...byTask].map(([task, cells]) => {
      const fig = Plot.plot({
        // On a slide the text is 16 px (theme.ts): wider margins and cells for it.
        width: this.presenter ? 280 : 240,
        height: 70 + 34 * layers,
        marginBottom: this.presenter ? 52 : 44,
        marginLeft: this.presenter ? 80 : 60,
        x: { label: 'branch removed', domain: ['attention', 'SSM'], labelOffset: this.presenter ? 44 : 36 },
        y: { label: null, domain: Array.from({ length: layers }, (_, i) => `layer ${i}`) },
        color: this.changeScale(),
        marks: [
          Plot.cell(cells, {
            x: (c: ImportanceCell) => BRANCH_TEXT[c.branch],
            y: (c: ImportanceCell) => `layer ${c.layer}`,
            fill: (c: ImportanceCell) => -100 * c.drop,
            inset: 1,
          }),
          Plot.text(cells, {
            x: (c: ImportanceCell) => BRANCH_TEXT[c.branch],
            y: (c: ImportanceCell) => `layer ${c.layer}`,
            text: (c: ImportanceCell) => `${signedPoints(-100 * c.drop)} pts`,
            fill: (c: ImportanceCell) => (Math.abs(c.drop) > 0.6 ? 'white' : 'black'),
          }),
        ],
      });
      fig.setAttribute('data-task', task);
      return fig;
    });
  }

  /**
   * The heat-map's colour: the change in accuracy, in points, diverging around 0 (PuOr, colour-blind safe): a loss
   * (the branch mattered) is orange, a gain (removing it helped) purple. Cell text and legend read the same signed
   * number; the legend keeps side margins so its end labels are not cut.
   */
  private changeScale(): Plot.ScaleOptions & Plot.LegendOptions {
    return {
      type: 'diverging',
      scheme: 'PuOr',
      reverse: true,
      domain: [-100, 100],
      ticks: [-100, -50, 0, 50, 100],
      tickFormat: signedPoints,
      legend: 'ramp',
      label: 'accuracy change (points)',
      width: this.presenter ? 280 : 240,
      marginLeft: 18,
      marginRight: 18,
    };
  }

  private plotGains(): Element {
    const rows = this.gains.flatMap((g) => [
      ...(g.attn === null ? [] : [{ layer: `layer ${g.layer}`, branch: MEANINGS.attention.label, gain: g.attn }]),
      ...(g.ssm === null ? [] : [{ layer: `layer ${g.layer}`, branch: MEANINGS.ssmBranch.label, gain: g.ssm }]),
    ]);
    return Plot.plot({
      width: this.presenter ? 360 : 300,
      height: 220,
      marginBottom: 40,
      fx: { label: null },
      x: { axis: null },
      y: { label: 'mean |β|', grid: true },
      color: meaningScale(['attention', 'ssmBranch']),
      marks: [Plot.barY(rows, { fx: 'layer', x: 'branch', y: 'gain', fill: 'branch', tip: true }), Plot.ruleY([0])],
    });
  }

  /** The most important branch for the first task shown, in one sentence. */
  private finding(): string {
    const task = this.tasks.split(/[\s,]+/)[0];
    const cells = this.cells.filter((c) => c.task === task);
    if (!cells.length || this.status !== 'ready') return '';
    const top = cells.reduce((a, b) => (b.drop > a.drop ? b : a));
    const base = cells[0].baseline;
    const on = `On ${TASK_TEXT[task] ?? task}`;
    if (top.drop < 0.01) return `${on} the intact model answers ${pct(base)}; no single branch removal costs a point or more.`;
    return `${on} the intact model answers ${pct(base)}. Removing the ${BRANCH_TEXT[top.branch]} branch of layer ${top.layer} costs the most: accuracy falls to ${pct(top.ablated)}.`;
  }

  protected override renderBody(): TemplateResult {
    // A task the model did not learn (intact accuracy near a guess) has nothing for a removal to take away.
    const unlearned = [...new Set(this.cells.map((c) => c.task))]
      .map((task) => this.cells.find((c) => c.task === task)!)
      .filter((c) => c.baseline < UNLEARNED_BELOW[c.task]);
    return html`
      <div class="controls">
        ${
          this.isHidden('model')
            ? ''
            : html`<label
                >Model
                <select name="model" @change=${(e: Event) => (this.model = (e.target as HTMLSelectElement).value)}>
                  ${ZOO_NAMES.includes(this.model) ? '' : html`<option selected>${this.model}</option>`}
                  ${ZOO_NAMES.map((n) => html`<option ?selected=${n === this.model}>${n}</option>`)}
                </select></label
              >`
        }
      </div>
      ${this.finding() ? html`<p class="finding" data-finding data-result>${this.finding()}</p>` : ''}
      ${this.cells.length ? html`<p class="note basis" data-basis>${this.basis()}</p>` : ''} ${this.renderPendingBaselines()}
      <div class="charts">
        ${this.heatmaps.map(
          (h) =>
            html`<figure data-result>
              <h5>${TASK_TEXT[h.getAttribute('data-task') ?? ''] ?? ''}: what removing a branch costs</h5>
              ${h}
            </figure>`,
        )}
        ${
          this.gainChart
            ? html`<figure>
                <h5>Learned fusion gains</h5>
                ${this.gainChart}
              </figure>`
            : ''
        }
      </div>
      ${unlearned.map(
        (c) =>
          html`<p class="note" data-unlearned>
            This model did not learn ${TASK_TEXT[c.task] ?? c.task}: intact, it answers ${pct(c.baseline)} (a guess scores about
            ${CHANCE_TEXT[c.task]}). Its drops are small for that reason, not because no branch matters.
          </p>`,
      )}
      <div data-result>
        ${numbersTable(
          this.cells.map((c) => ({
            task: c.task,
            layer: c.layer,
            branch: BRANCH_TEXT[c.branch],
            intact: pct(c.baseline),
            removed: pct(c.ablated),
            drop: pct(c.drop),
            sequences: c.sequences,
          })),
          ['task', 'layer', 'branch', 'intact', 'removed', 'drop', 'sequences'],
          'accuracy drop per removed branch',
        )}
      </div>
      ${this.renderExports({
        rows: () => this.cells.map((c) => ({ ...c })),
        columns: ['task', 'layer', 'branch', 'baseline', 'ablated', 'drop', 'sequences'],
        json: () => ({
          model: this.model,
          pairs: this.pairs,
          sequences: this.measuredSequences,
          maxSequences: this.sequences,
          cells: this.cells,
          gains: this.gains,
        }),
        svg: () => this.heatmaps[0] ?? null,
      })}
      ${this.isHidden('code') ? '' : codePanel(importanceSnippet({ model: this.model, pairs: this.pairs, n: this.sequences, seed: this.seed }))}
    `;
  }
}

define('hymba-head-importance', HymbaHeadImportance);

declare global {
  interface HTMLElementTagNameMap {
    'hymba-head-importance': HymbaHeadImportance;
  }
}
