// A training run that can stop between steps: the loop of engine/train/trainer.ts `train()` (same seeds, same data
// stream, same learning-rate schedule, same graph), cut into chunks so <hymba-train-lab> can draw curves, pause when
// the tab is hidden, and resume. DOM-free: Node tests drive it through Dawn and compare it with `train()`.
import type { HymbaConfig } from '../../engine/config.ts';
import { Rng } from '../../engine/tasks/rng.ts';
import type { Task } from '../../engine/tasks/types.ts';
import { TrainGraph } from '../../engine/train/graph.ts';
import { initParams } from '../../engine/train/params.ts';
import { graphRecall, learningRate, toGraphBatch, TrainError, type TrainSettings } from '../../engine/train/trainer.ts';

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
    if (!Number.isInteger(s.steps) || s.steps < 1) throw new TrainError(`steps must be a positive integer, got ${s.steps}`);
    if (!Number.isInteger(s.batch) || s.batch < 1) throw new TrainError(`batch must be a positive integer, got ${s.batch}`);
    if (!(s.lr > 0)) throw new TrainError(`lr must be > 0, got ${s.lr}`);
    if (config.vocabSize < task.vocabSize)
      throw new TrainError(`the task uses ${task.vocabSize} token ids but the model's vocab_size is ${config.vocabSize}`);
    const graph = new TrainGraph(
      device,
      config,
      {
        batch: s.batch,
        seqLen: task.seqLen,
        maxTargets: s.batch * task.maxTargets,
        weightDecay: s.weightDecay ?? 0.1,
        betas: s.betas ?? [0.9, 0.98],
        clip: s.clip ?? 1,
      },
      s.steps + 1,
    );
    await graph.validate();
    await graph.setParams(initParams(config, Rng.derive(s.seed, 0)));
    return new TrainSession(graph, config, task, s);
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
      const examples = Array.from({ length: s.batch }, () => this.task.sample(this.data));
      this.graph.setBatch(toGraphBatch(examples, this.config.numMetaTokens));
      this.graph.step(step, learningRate(step, s.steps, s.lr, s.warmup));
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
