// <hymba-train-lab zoo="hymba" steps="1000" batch="32" seed="1" eval-every="50" eval-sequences="64">
// Train a tiny model in the page with the engine's WebGPU training graph (engine/train/): pick a roadmap step, press
// Train, watch the loss and the recall accuracy (MQAR-128 at 16 pairs) as curves, pause and resume, and compare
// two runs. Keep the result: download it in the official checkpoint format (config.json + model.safetensors) and
// load it again later from the files; the loaded model answers exactly as the trained one did.
// Seeded: the same settings give the same run. Training pauses while the tab is hidden and resumes when it returns.
import { css, html, type PropertyValues, type TemplateResult } from 'lit';
import { state } from 'lit/decorators.js';
import * as Plot from '@observablehq/plot';
import { parseConfig, type HymbaConfig } from '../../engine/config.ts';
import { fileListFiles, loadCheckpoint } from '../../engine/checkpoint/load.ts';
import { CpuEngine } from '../../engine/cpu/forward.ts';
import { describeRole, ZOO } from '../../engine/train/zoo.ts';
import { checkpointOf } from '../../engine/train/card.ts';
import { answerExample, freshExamples, mqar128 } from '../../engine/analysis/recall.ts';
import { MqarTask } from '../../engine/tasks/mqar.ts';
import { define } from '../lib/base/widget-base.ts';
import { getPageGpu } from '../lib/page/gpu.ts';
import { LabWidget } from '../lib/base/lab-widget.ts';
import { download } from '../lib/base/export.ts';
import { seriesScale } from '../lib/base/palette.ts';
import type { Schema } from '../lib/base/url-state.ts';
import { TrainSession } from '../../engine/train/train-session.ts';
import { pct } from '../lib/features/recall-shared.ts';
import { pageController } from '../lib/page/engine-controller.ts';

/** The roadmap steps a reader can train (engine/train/zoo.ts), without the SWA-only baseline. */
const STEPS = ['attention', 'ssm', 'sequential', 'parallel', 'parallel-swa', 'parallel-swa-kv', 'hymba'];
/** The recall measured during training and on a loaded model. */
const EVAL_PAIRS = 16;
/** Sequences whose answers are compared between the trained model and a reloaded file. */
const CHECK_SEQUENCES = 4;
const CHECK_SEED = 99;
/** A first step later than this (on a software GPU, batch 32 takes minutes a step) gets the plain "too slow" note,
 * so that the reader has it within 10 s of pressing Train. */
const FIRST_STEP_MS = 9_000;
/** A run whose estimate is longer than this is too long to wait for here: offer the short run. */
const PATIENCE_S = 600;
/** Each advance() is sized to take about this long, so the page updates and Cancel acts between steps. */
const CHUNK_MS = 1000;
/** The short run offered on a slow device aims at about this long. */
const SHORT_RUN_S = 90;

interface LabRun {
  id: number;
  label: string;
  zoo: string;
  config: HymbaConfig;
  settings: { steps: number; batch: number; lr: number; seed: number };
  losses: Array<{ step: number; loss: number }>;
  accuracy: Array<{ step: number; accuracy: number }>;
  step: number;
  seconds: number;
  done: boolean;
  /** Cancelled before its last step: the curves show the run up to `step`. */
  stopped: boolean;
  /** Step 1's loss, read before its update (TrainSession.initialLoss): the run's first number. Tests read it. */
  initialLoss: number | null;
  /** The answers of the trained model on the check sequences (set once training ends). */
  predictions: number[] | null;
}

export class HymbaTrainLab extends LabWidget {
  static override styles = [
    LabWidget.styles,
    css`
      progress {
        width: min(24rem, 100%);
        height: 0.9rem;
        vertical-align: middle;
      }
      .charts {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(260px, 1fr));
        gap: 1rem;
      }
      h5 {
        margin: 0.75rem 0 0.25rem;
        font-size: 0.9rem;
      }
      .keep {
        margin-top: 0.75rem;
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem 1rem;
        align-items: center;
      }
    `,
  ];

  static override settings: Schema = {
    zoo: { kind: 'enum', default: 'hymba', values: STEPS },
    steps: { kind: 'number', default: 1000, min: 1, max: 20000, int: true },
    batch: { kind: 'number', default: 32, min: 1, max: 256, int: true },
    seed: { kind: 'number', default: 1, min: 0, max: 2 ** 31 - 1, int: true },
    lr: { kind: 'number', default: 0, min: 0, max: 1 },
    logEvery: { kind: 'number', default: 10, min: 1, max: 1000, int: true },
    evalEvery: { kind: 'number', default: 50, min: 0, max: 20000, int: true },
    evalSequences: { kind: 'number', default: 64, min: 0, max: 256, int: true },
    // Two attention heads with an even (RoPE) head dim: the hidden size is a multiple of 4; 0 = the zoo's.
    width: { kind: 'number', default: 0, min: 0, max: 256, step: 16 },
    // MQAR needs an even length with room for 4 pairs, within the zoo's 256 positions.
    seqLen: { kind: 'number', default: 128, min: 16, max: 256, step: 2 },
  };

  /** The roadmap step to train (its config and learning rate: the shipped models/NAME, see shippedRecipe). */
  declare zoo: string;
  declare steps: number;
  declare batch: number;
  declare seed: number;
  /** Learning rate; 0 = the zoo's for this step. */
  declare lr: number;
  /** Read the loss back every this many steps (each read waits for the GPU). */
  declare logEvery: number;
  /** Measure recall every this many steps (0: only at the end). */
  declare evalEvery: number;
  declare evalSequences: number;
  /** Hidden size; 0 = the zoo's (64). Smaller trains faster (the MLP shrinks in proportion). */
  declare width: number;
  /** Tokens per training sequence (MQAR with up to seq-len/4 pairs); the check and the saved model use MQAR-128. */
  declare seqLen: number;

  /** The last two runs (the earlier one stays for comparison). Tests read them. */
  @state() runs: LabRun[] = [];
  @state() training = false;
  @state() paused = false;
  /** Set when the tab was hidden during training: resume when it is visible again. */
  private pausedByHidden = false;
  @state() private message = '';
  /** Said plainly when this device is too slow for the run, with the short run it can do (or null). */
  @state() slowDevice: { text: string; shortRun: { steps: number; batch: number; seconds: number } } | null = null;
  /** The chosen step described from the shipped config.json it trains (its window), not from the recipe in zoo.ts. */
  @state() private shippedNote = '';
  /** A model loaded from files, and how its answers compare with the trained run's. */
  @state() loaded: { label: string; predictions: number[]; accuracy: number; same: number | null; total: number } | null = null;
  private session: TrainSession | null = null;
  private lossChart: Element | null = null;
  private accChart: Element | null = null;
  private nextId = 1;
  private resume: (() => void) | null = null;

  private readonly onVisibility = (): void => {
    if (document.hidden && this.training && !this.paused) {
      this.pausedByHidden = true;
      this.paused = true;
    } else if (!document.hidden && this.pausedByHidden) {
      this.pausedByHidden = false;
      this.setPaused(false);
    }
  };

  override connectedCallback(): void {
    super.connectedCallback();
    document.addEventListener('visibilitychange', this.onVisibility);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    document.removeEventListener('visibilitychange', this.onVisibility);
    this.paused = true;
    this.session?.dispose();
    this.session = null;
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    super.willUpdate(changed);
    if (!changed.has('zoo')) return;
    const e = this.entry();
    this.shippedNote = '';
    void this.shippedRecipe().then(
      ({ raw }) => this.zoo === e.name && (this.shippedNote = describeRole(e.role, raw)),
      (err: Error) => this.zoo === e.name && (this.shippedNote = err.message),
    );
  }

  /** Settings only change what Train would do; nothing runs until Train is pressed (except on the recorded tier). */
  protected override shouldRecompute(changed: PropertyValues<this>): boolean {
    return this.recordedOnly && changed.has('zoo'); // the recorded tier shows the chosen step's run
  }

  /** Set when this browser cannot train (no WebGPU): the charts then show the zoo model's recorded run. */
  @state() recordedOnly = false;

  /**
   * Check that this page can train: the training graph is WebGPU only. Without WebGPU the widget falls back to the
   * recorded tier: the loss and recall curves the zoo model's own training run wrote into its card.json.
   */
  protected override async compute(): Promise<void> {
    try {
      await getPageGpu();
      this.recordedOnly = false;
    } catch (e) {
      this.recordedOnly = true;
      await this.showRecordedRun((e as Error).message);
    }
  }

  private async showRecordedRun(reason: string): Promise<void> {
    const e = this.entry();
    type Card = {
      training?: { steps: number; batch: number; lr: number; seed: number; adapter?: string; wall_seconds?: number } & {
        loss_curve?: Array<[number, number]>;
        recall_curve?: Array<{ step: number; accuracy: number }>;
      };
    };
    const card = await pageController().modelJson<Card>(e.name, 'card.json');
    const t = card?.training;
    if (!t?.loss_curve)
      throw new Error(`Training needs WebGPU (${reason}), and the site has no recorded run of “${e.name}” to show instead.`);
    this.runs = [
      {
        id: this.nextId++,
        label: `recorded run of models/${e.name}`,
        zoo: e.name,
        config: parseConfig((await this.shippedRecipe()).raw),
        settings: { steps: t.steps, batch: t.batch, lr: t.lr, seed: t.seed },
        losses: t.loss_curve.map(([step, loss]) => ({ step, loss })),
        accuracy: (t.recall_curve ?? []).map(({ step, accuracy }) => ({ step, accuracy })),
        step: t.steps,
        seconds: t.wall_seconds ?? 0,
        done: true,
        stopped: false,
        initialLoss: null,
        predictions: null,
      },
    ];
    this.message = `Training in the page needs WebGPU, which this browser does not offer (${reason}). Shown instead: the recorded training run of the zoo model “${e.name}” (${t.steps} steps × batch ${t.batch}${t.adapter ? ` on ${t.adapter}` : ''}), from its card.json.`;
    this.redraw();
  }

  /**
   * The recipe of the shipped zoo model: models/NAME/config.json and its card's learning rate, so the lab trains
   * what the reader sees in the zoo (no Q/K/V conv; docs/zoo.md), not a recipe the folder was not trained with.
   */
  private async shippedRecipe(): Promise<{ raw: Record<string, unknown>; lr: number }> {
    const e = this.entry();
    const [raw, card] = await Promise.all([
      pageController().modelJson<Record<string, unknown>>(e.name, 'config.json'),
      pageController().modelJson<{ training?: { lr?: number } }>(e.name, 'card.json'),
    ]);
    if (!raw) throw new Error(`models/${e.name}/config.json is missing: the lab trains the shipped model's recipe`);
    return { raw, lr: card?.training?.lr ?? e.lr };
  }

  private entry() {
    const e = ZOO.find((z) => z.name === this.zoo);
    if (!e) throw new Error(`unknown roadmap step "${this.zoo}" (steps: ${STEPS.join(', ')})`);
    return e;
  }

  private setPaused(paused: boolean): void {
    this.paused = paused;
    if (!paused) {
      this.resume?.();
      this.resume = null;
    }
  }

  /** Start a new run; the previous one stays on the charts for comparison. */
  async train(): Promise<void> {
    if (this.training) return;
    this.training = true; // while the recipe loads, a second click does not start a second run
    let recipe: { raw: Record<string, unknown>; lr: number };
    try {
      recipe = await this.shippedRecipe();
    } catch (err) {
      this.message = `Training stopped: ${(err as Error).message}`;
      this.training = false;
      return;
    }
    const settings = { steps: this.steps, batch: this.batch, lr: this.lr || recipe.lr, seed: this.seed };
    const raw = recipe.raw as { hidden_size: number; intermediate_size: number };
    const config = parseConfig(
      this.width
        ? {
            ...raw,
            hidden_size: this.width,
            intermediate_size: Math.max(4, Math.round((raw.intermediate_size * this.width) / raw.hidden_size)),
          }
        : raw,
    );
    const maxPairs = Math.min(24, Math.floor(this.seqLen / 4));
    const task = new MqarTask({ seqLen: this.seqLen, pairs: [Math.min(4, maxPairs), maxPairs] });
    const evalPairs = Math.min(EVAL_PAIRS, maxPairs);
    const run: LabRun = {
      id: this.nextId++,
      label: '',
      zoo: this.zoo,
      config,
      settings,
      losses: [],
      accuracy: [],
      step: 0,
      seconds: 0,
      done: false,
      stopped: false,
      initialLoss: null,
      predictions: null,
    };
    const size = this.width || this.seqLen !== 128 ? `, width ${config.hiddenSize}, ${this.seqLen} tokens` : '';
    run.label = `run ${run.id}: ${this.zoo}${size}, ${settings.steps} steps × ${settings.batch}, lr ${settings.lr}, seed ${settings.seed}`;
    this.runs = [...this.runs.slice(-1), run];
    this.training = true;
    this.paused = false;
    this.slowDevice = null;
    this.message = '';
    this.status = 'running';
    this.session?.dispose();
    this.session = null;
    const signal = this.beginWork('Building the training graph (compiling the GPU kernels)');
    // Cancel frees the controls at once; the step in flight on the GPU finishes, and the loop stops after it.
    signal.addEventListener('abort', () => {
      if (this.current === run) this.training = false;
    });
    const started = performance.now();
    // Said within FIRST_STEP_MS whether or not the first step has come back: on a software GPU it may take minutes.
    const slowTimer = setTimeout(() => {
      if (run.step === 0 && !signal.aborted) this.noteSlow(settings, null, (performance.now() - started) / 1000);
    }, FIRST_STEP_MS);
    try {
      const gpu = await getPageGpu();
      const session = await TrainSession.create(gpu.device, config, task, settings);
      this.session = session;
      // The first number, before any update: step 1's loss from its forward pass alone (the backward compiles
      // meanwhile); the same value the step then reports, so it is drawn as step 1's point at once.
      if (!signal.aborted) {
        run.initialLoss = await session.initialLoss();
        run.losses.push({ step: 1, loss: run.initialLoss });
        this.redraw();
      }
      // One step first (the reader sees it soon), then chunks of about CHUNK_MS each.
      let chunk = 1;
      while (!session.done && !signal.aborted) {
        if (this.paused) {
          this.status = 'ready';
          await new Promise<void>((r) => {
            this.resume = r;
            signal.addEventListener('abort', () => r(), { once: true });
          });
          if (this.session !== session || signal.aborted) break; // a new run replaced this one, or Cancel
          this.status = 'running';
        }
        this.reportProgress(signal, { what: `Training ${this.zoo}`, done: session.step, total: settings.steps, unit: 'steps' });
        const before = session.step;
        const losses = await session.advance(chunk);
        losses.forEach((loss, i) => {
          const step = before + i + 1;
          if (step === 1 && run.initialLoss !== null) return; // drawn already (the same loss)
          if (step === 1 || step % this.logEvery === 0 || step === settings.steps) run.losses.push({ step, loss });
        });
        run.step = session.step;
        run.seconds = session.seconds;
        const perStep = session.seconds / session.step;
        chunk = Math.max(1, Math.min(this.logEvery, Math.floor(CHUNK_MS / 1000 / perStep)));
        if (before === 0 && perStep * settings.steps > PATIENCE_S) this.noteSlow(settings, perStep, 0);
        this.reportProgress(signal, { what: `Training ${this.zoo}`, done: session.step, total: settings.steps, unit: 'steps' });
        const evalNow =
          session.done || (this.evalEvery > 0 && Math.floor(session.step / this.evalEvery) > Math.floor(before / this.evalEvery));
        if (evalNow && this.evalSequences > 0 && !signal.aborted)
          run.accuracy.push({ step: session.step, accuracy: await session.accuracy(evalPairs, this.evalSequences) });
        this.redraw();
      }
      if (signal.aborted) {
        run.stopped = true;
        run.label += ` (stopped at step ${run.step})`;
        this.redraw();
        return;
      }
      run.done = true;
      run.predictions = await this.answers(await checkpointOf(config, await session.params()).then((c) => new CpuEngine(c.ck)));
      this.redraw();
    } catch (err) {
      // After a Cancel, a newer run may have disposed this one's session under its last step: not a failure.
      if (!signal.aborted) this.message = `Training stopped: ${(err as Error).message}`;
    } finally {
      clearTimeout(slowTimer);
      this.endWork(signal);
      if (this.current === run) {
        this.training = false;
        this.status = 'ready';
      }
    }
  }

  /**
   * Tell the reader plainly that this device is too slow for the run as set, and offer a short one it can do:
   * `perStep` is the measured seconds per step, or null when the first step has not come back after `waited` s.
   */
  private noteSlow(s: { steps: number; batch: number }, perStep: number | null, waited: number): void {
    // A step's cost grows slower than its batch (measured on SwiftShader: batch 8 ≈ 4.6× batch 1): ~batch^0.7.
    const atBatch1 = (perStep ?? waited) / Math.pow(s.batch, 0.7);
    const steps = Math.max(5, Math.min(200, Math.floor(SHORT_RUN_S / atBatch1)));
    const seconds = Math.round(steps * atBatch1);
    const pace =
      perStep === null
        ? `its first training step has not finished after ${Math.round(waited)} s`
        : `one training step takes ${perStep.toFixed(1)} s here, so ${s.steps} steps would take about ${duration(perStep * s.steps)}`;
    this.slowDevice = {
      text: `This device is too slow for this run: ${pace} (a GPU takes milliseconds a step; this is probably a software GPU). A short run with batch 1 fits in a minute or two: too short to learn recall, but you can watch the loss fall.`,
      shortRun: { steps, batch: 1, seconds },
    };
  }

  /** Cancel the slow run and start the short one. */
  private async trainShort(): Promise<void> {
    const short = this.slowDevice?.shortRun;
    if (!short) return;
    this.cancel(); // frees `training` at once (see train())
    this.steps = short.steps;
    this.batch = short.batch;
    await this.train();
  }

  protected override canResume(): boolean {
    return false; // "Train" starts a new run; the stopped one stays on the charts
  }

  protected override partialNote(): string {
    const run = this.current;
    return run ? `The curves show the run up to step ${run.step} of ${run.settings.steps}.` : '';
  }

  /** The answers (argmax at every query) on the fixed check sequences. */
  private async answers(engine: CpuEngine): Promise<number[]> {
    const out: number[] = [];
    for (const ex of freshExamples(mqar128(), EVAL_PAIRS, CHECK_SEQUENCES, CHECK_SEED))
      out.push(...(await answerExample(engine, ex)).queries.map((q) => q.predicted));
    return out;
  }

  private get current(): LabRun | undefined {
    return this.runs[this.runs.length - 1];
  }

  /** Download the current run as config.json + model.safetensors (the official layout, f32, tied embeddings). */
  async keep(): Promise<void> {
    const run = this.current;
    if (!run || !this.session) return;
    const { safetensors } = await checkpointOf(run.config, await this.session.params());
    download('config.json', JSON.stringify(run.config.raw, null, 2) + '\n', 'application/json');
    download('model.safetensors', new Blob([safetensors as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  }

  /** Load config.json + model.safetensors picked by the reader and answer the check sequences with it. */
  async loadFiles(files: ArrayLike<File>): Promise<void> {
    this.message = '';
    try {
      const ck = await loadCheckpoint(fileListFiles(files));
      const engine = new CpuEngine(ck);
      const predictions = await this.answers(engine);
      const truth = freshExamples(mqar128(), EVAL_PAIRS, CHECK_SEQUENCES, CHECK_SEED).flatMap((ex) => ex.queries.map((q) => q.value));
      const right = predictions.filter((p, i) => p === truth[i]).length;
      const trained = this.current?.predictions ?? null;
      const same = trained && trained.length === predictions.length ? predictions.filter((p, i) => p === trained[i]).length : null;
      this.loaded = { label: ck.label, predictions, accuracy: right / truth.length, same, total: predictions.length };
    } catch (err) {
      this.message = `Could not load the files: ${(err as Error).message}`;
    }
  }

  private redraw(): void {
    const lossRows = this.runs.flatMap((r) => r.losses.map((p) => ({ ...p, run: r.label })));
    const accRows = this.runs.flatMap((r) => r.accuracy.map((p) => ({ ...p, run: r.label })));
    const domain = this.runs.map((r) => r.label);
    const width = Math.max(260, Math.min(420, (this.clientWidth - 60) / 2 || 420));
    const color = seriesScale(domain);
    this.lossChart = Plot.plot({
      width,
      height: 220,
      x: { label: 'step', grid: true },
      y: { label: 'training loss (cross-entropy)', grid: true, zero: true },
      color,
      marks: [Plot.line(lossRows, { x: 'step', y: 'loss', stroke: 'run', strokeWidth: 1.5 })],
    });
    this.accChart = Plot.plot({
      width,
      height: 220,
      x: { label: 'step', grid: true },
      y: { label: `recall at ${EVAL_PAIRS} pairs`, domain: [0, 1], tickFormat: '.0%', grid: true },
      color,
      marks: [
        Plot.line(accRows, { x: 'step', y: 'accuracy', stroke: 'run' }),
        Plot.dot(accRows, { x: 'step', y: 'accuracy', fill: 'run', r: 3, tip: true }),
      ],
    });
    this.requestUpdate();
  }

  private renderProgress(): TemplateResult {
    const run = this.current;
    if (!run) return html``;
    const { steps } = run.settings;
    const rate = run.seconds > 0 ? run.step / run.seconds : 0;
    const rateText = rate >= 1 ? rate.toFixed(1) : rate.toPrecision(2);
    const lastLoss = run.losses[run.losses.length - 1]?.loss;
    const lastAcc = run.accuracy[run.accuracy.length - 1]?.accuracy;
    // The bar, the time left and Cancel are the shared progress line's (HymbaWidget); this line adds the numbers.
    return html`<p class="progress" aria-live="polite">
      Step <strong class="step">${run.step}</strong> of
      ${steps}${rate ? ` · ${rateText} steps/s` : ''}${
        lastLoss !== undefined
          ? html` · ${run.step === 0 ? 'initial loss' : 'loss'}
              <strong class="loss">${lastLoss.toFixed(3)}</strong>${run.step === 0 ? ' (the first batch, before any update)' : ''}`
          : ''
      }${lastAcc !== undefined ? html` · recall <strong>${pct(lastAcc)}</strong>` : ''}
      ${this.paused && this.training ? html`<strong>· paused${this.pausedByHidden ? ' (tab hidden)' : ''}</strong>` : ''}${run.done ? ' · done' : ''}${
        run.stopped ? ' · stopped (partial run)' : ''
      }
    </p>`;
  }

  protected override renderBody(): TemplateResult {
    const run = this.current;
    return html`
      <div class="controls">
        ${
          this.isHidden('zoo')
            ? ''
            : html`<label
                >Roadmap step
                <select name="zoo" ?disabled=${this.training} @change=${(e: Event) => (this.zoo = (e.target as HTMLSelectElement).value)}>
                  ${STEPS.map((s) => html`<option ?selected=${s === this.zoo}>${s}</option>`)}
                </select></label
              >`
        }
        ${
          this.isHidden('steps')
            ? ''
            : html`<label
                >Steps
                <input
                  type="number"
                  name="steps"
                  min="1"
                  max="20000"
                  .value=${String(this.steps)}
                  ?disabled=${this.training}
                  @change=${(e: Event) => (this.steps = Math.max(1, Number((e.target as HTMLInputElement).value) | 0))}
              /></label>`
        }
        ${
          this.isHidden('seed')
            ? ''
            : html`<label
                >Seed
                <input
                  type="number"
                  name="seed"
                  min="0"
                  .value=${String(this.seed)}
                  ?disabled=${this.training}
                  @change=${(e: Event) => (this.seed = Math.max(0, Number((e.target as HTMLInputElement).value) | 0))}
              /></label>`
        }
        <button
          type="button"
          name="train"
          ?disabled=${this.training || this.status === 'error' || this.recordedOnly}
          @click=${() => void this.train()}
        >
          ${this.runs.length ? 'Train another run' : 'Train'}
        </button>
        <button
          type="button"
          name="pause"
          ?disabled=${!this.training}
          @click=${() => ((this.pausedByHidden = false), this.setPaused(!this.paused))}
        >
          ${this.paused ? 'Resume' : 'Pause'}
        </button>
      </div>
      <p class="note">${this.shippedNote}</p>
      ${this.message ? html`<p class="note" role="status">${this.message}</p>` : ''}
      ${
        this.slowDevice
          ? html`<p class="slow-device" role="alert">
              ${this.slowDevice.text}
              <button type="button" name="short-run" @click=${() => void this.trainShort()}>
                Train a short run instead: ${this.slowDevice.shortRun.steps} steps × batch ${this.slowDevice.shortRun.batch} (about
                ${duration(this.slowDevice.shortRun.seconds)} here)
              </button>
            </p>`
          : ''
      }
      ${this.renderProgress()}
      ${
        run
          ? html`<div class="charts">
              <figure>
                <h5>Loss</h5>
                ${this.lossChart}
              </figure>
              <figure>
                <h5>Recall (MQAR-128, ${EVAL_PAIRS} pairs, ${this.evalSequences} fixed sequences)</h5>
                ${this.accChart}
              </figure>
            </div>`
          : ''
      }
      <div class="keep">
        <button type="button" name="download" ?disabled=${!run?.done} @click=${() => void this.keep()}>
          Download the model (config.json + model.safetensors)
        </button>
        <label
          >Load a saved model:
          <input
            type="file"
            name="load"
            multiple
            accept=".json,.safetensors"
            @change=${(e: Event) => void this.loadFiles((e.target as HTMLInputElement).files ?? [])}
        /></label>
      </div>
      ${
        this.loaded
          ? html`<p class="loaded" aria-live="polite">
              Loaded ${this.loaded.label}: recall <strong>${pct(this.loaded.accuracy)}</strong> on ${CHECK_SEQUENCES} check sequences.
              ${
                this.loaded.same === null
                  ? ''
                  : html`<strong class="same">${this.loaded.same} of ${this.loaded.total}</strong> answers are the same as the trained
                      run's.`
              }
            </p>`
          : ''
      }
    `;
  }
}

/** Seconds as the reader reads them: "40 s", "12 min", "3.5 h". */
function duration(s: number): string {
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

define('hymba-train-lab', HymbaTrainLab);

declare global {
  interface HTMLElementTagNameMap {
    'hymba-train-lab': HymbaTrainLab;
  }
}
