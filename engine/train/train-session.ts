// A training run that can stop between steps: trainer.ts `train()` (its setup, openTrainGraph, and its step,
// trainStep: same seeds, same data stream, same learning-rate schedule, same graph), cut into chunks so
// <hymba-train-lab> can draw curves, pause when the tab is hidden, and resume. Node tests drive it through Dawn and
// compare it with `train()`.
import type { HymbaConfig } from '../config.ts';
import { Rng } from '../tasks/rng.ts';
import type { Task } from '../tasks/types.ts';
import type { TrainGraph } from './graph.ts';
import { checked } from '../webgpu/device.ts';
import { graphRecall, openTrainGraph, stepBatch, trainStep, type TrainSettings } from './trainer.ts';

export class TrainSession {
  readonly config: HymbaConfig;
  readonly task: Task;
  readonly settings: TrainSettings;
  /** Steps done so far. */
  step = 0;
  /** Seconds spent in training steps (evaluations excluded). */
  seconds = 0;
  private readonly graph: TrainGraph;
  private readonly data: Rng;

  private constructor(graph: TrainGraph, config: HymbaConfig, task: Task, settings: TrainSettings) {
    this.graph = graph;
    this.config = config;
    this.task = task;
    this.settings = settings;
    this.data = Rng.derive(settings.seed, 1);
  }

  /** The loss of step `step` once its forward has run ahead of its update (initialLoss), else null. */
  private forwardDone: { step: number; loss: number } | null = null;
  /** The whole step's pipelines, compiling since create(); advance() waits for them (and their errors). */
  private compiled: Promise<void> = Promise.resolve();

  /**
   * Build the graph on `device` and initialise the parameters from the seed (as train() does). Its pipelines start
   * compiling side by side; only the forward's are waited for (by initialLoss, or by the first step with the rest).
   */
  static async create(device: GPUDevice, config: HymbaConfig, task: Task, s: TrainSettings): Promise<TrainSession> {
    const graph = await openTrainGraph(device, config, task, s, false);
    const session = new TrainSession(graph, config, task, s);
    // Started now so that the backward's compile overlaps the first forward; awaited (errors too) by advance().
    session.compiled = graph.prepare('step');
    session.compiled.catch(() => {});
    return session;
  }

  /**
   * The first result a reader can see: the loss of the initial parameters on the first step's batch, from that
   * step's forward pass alone (the first graph dispatches, checked for GPU errors). The step's update, in
   * advance(), then runs only its backward and optimizer, so the loss and the run are the same to the bit as
   * without it, and advance(1) returns this same loss.
   */
  async initialLoss(): Promise<number> {
    if (this.step !== 0) throw new Error(`initialLoss() is the loss before step 1; this run is at step ${this.step}`);
    if (this.forwardDone) return this.forwardDone.loss;
    const t0 = performance.now();
    await this.graph.prepare('forward');
    const lr = stepBatch(this.graph, this.config, this.task, this.settings, this.data, 0);
    await checked(this.graph.device, () => this.graph.forwardStep(0, lr));
    const [loss] = await this.graph.readLosses(0, 1);
    this.seconds += (performance.now() - t0) / 1000;
    this.forwardDone = { step: 0, loss };
    return loss;
  }

  get done(): boolean {
    return this.step >= this.settings.steps;
  }

  /** Run up to `count` more steps; resolves with their losses once the GPU has finished them. */
  async advance(count: number): Promise<Float32Array> {
    const s = this.settings;
    const from = this.step;
    const to = Math.min(s.steps, from + count);
    // Step 1's forward always runs alone first: it is the run's checked first dispatch (and the reader's first loss).
    if (from === 0 && to > 0 && !this.forwardDone) await this.initialLoss();
    const t0 = performance.now();
    if (to > from) await this.compiled;
    for (let step = from; step < to; step++) {
      if (this.forwardDone?.step === step) this.graph.finishStep();
      else trainStep(this.graph, this.config, this.task, s, this.data, step);
    }
    if (to > from) this.forwardDone = null;
    const losses = to > from ? await this.graph.readLosses(from, to) : new Float32Array(0);
    this.seconds += (performance.now() - t0) / 1000;
    this.step = to;
    return losses;
  }

  /** Recall on `n` fixed evaluation sequences with `pairs` pairs (the batched forward of the training graph). */
  async accuracy(pairs: number, n: number): Promise<number> {
    return (await graphRecall(this.graph, this.task, pairs, n, this.settings.steps)).accuracy();
  }

  /** Every loss so far. */
  losses(): Promise<Float32Array> {
    return this.step ? this.graph.readLosses(0, this.step) : Promise.resolve(new Float32Array(0));
  }

  /** The parameters now, as one flat array (engine/train/params.ts layout). */
  params(): Promise<Float32Array> {
    return this.graph.readParams();
  }

  dispose(): void {
    this.graph.dispose();
  }
}
