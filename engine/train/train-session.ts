// A training run that can stop between steps: trainer.ts `train()` (its setup, openTrainGraph, and its step,
// trainStep: same seeds, same data stream, same learning-rate schedule, same graph), cut into chunks so
// <hymba-train-lab> can draw curves, pause when the tab is hidden, and resume. Node tests drive it through Dawn and
// compare it with `train()`.
import type { HymbaConfig } from '../config.ts';
import { Rng } from '../tasks/rng.ts';
import type { Task } from '../tasks/types.ts';
import type { TrainGraph } from './graph.ts';
import { graphRecall, openTrainGraph, trainStep, type TrainSettings } from './trainer.ts';

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

  /** Build the graph on `device` and initialise the parameters from the seed (as train() does). */
  static async create(device: GPUDevice, config: HymbaConfig, task: Task, s: TrainSettings): Promise<TrainSession> {
    return new TrainSession(await openTrainGraph(device, config, task, s), config, task, s);
  }

  get done(): boolean {
    return this.step >= this.settings.steps;
  }

  /** Run up to `count` more steps; resolves with their losses once the GPU has finished them. */
  async advance(count: number): Promise<Float32Array> {
    const s = this.settings;
    const from = this.step;
    const to = Math.min(s.steps, from + count);
    const t0 = performance.now();
    for (let step = from; step < to; step++) {
      trainStep(this.graph, this.config, this.task, s, this.data, step);
    }
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
