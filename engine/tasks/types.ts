// What every synthetic task produces: token ids, per-position targets (−1 = no loss) and what the lessons
// need to explain a result (for recall tasks: each query with the distance back to its key).

export interface Query {
  /** Position of the query token; the model must predict `value` at this position (next-token style). */
  pos: number;
  /** Position of the key in the context. */
  keyPos: number;
  key: number;
  value: number;
  /** pos − keyPos: how far back the model must look. */
  distance: number;
  /**
   * The task's own axes for this answer besides distance, as bucket labels (e.g. the majority task's
   * `{ classes: '8', margin: '2' }`): RecallScore tallies accuracy per axis and label.
   */
  axes?: Record<string, string>;
}

export interface Example {
  ids: Int32Array;
  /** targets[t] = the token the model must predict after reading ids[0..t]; −1 = no loss at t. */
  targets: Int32Array;
  /** Number of key–value pairs (recall tasks) or tokens to copy (copying). */
  pairs: number;
  queries: Query[];
}

/** A seeded example generator, the one interface training, evaluation and the lessons share. */
export interface Task {
  /** Card/CLI description (JSON-able). */
  readonly info: Record<string, unknown>;
  readonly name: string;
  readonly seqLen: number;
  readonly vocabSize: number;
  /** The most loss positions one example can have (sizes the training buffers). */
  readonly maxTargets: number;
  /** One example; `pairs` overrides the training distribution (evaluation at a fixed difficulty). */
  sample(rng: import('./rng.ts').Rng, pairs?: number): Example;
  /** What the `pairs` argument of sample() counts for this task (MQAR: pairs; copying: tokens; majority: classes). */
  readonly levelName?: string;
  /** The difficulty levels a card and the eval CLI measure by default (each one valid for sample()). */
  readonly evalLevels?: readonly number[];
}

export class TaskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskError';
  }
}
