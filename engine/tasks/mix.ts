// A mixture of equal-length tasks, for training one model on all of them: each example comes from one component,
// chosen uniformly, and every answer is labelled with its component (axis `task`), so one score splits by task.
// mix-512 = mqar-512 + copy-512 + majority-512: with one model per seed on all three, the per-branch ablations show
// which branch carries which task (issue 18). The layouts overlap in ids, but never in context: an MQAR sequence
// opens with key–value pairs (values ≥ 256), a copying one is mostly blanks (0), a majority one has no blank at all.

import { Rng } from './rng.ts';
import { TaskError, type Example, type Task } from './types.ts';

export class MixTask implements Task {
  readonly name: string;
  readonly seqLen: number;
  readonly vocabSize: number;
  readonly maxTargets: number;
  readonly levelName = 'level (each task its own: pairs, tokens, classes)';
  readonly evalLevels: readonly number[];
  readonly tasks: readonly Task[];
  constructor(name: string, tasks: Task[], evalLevels: number[] = [16]) {
    if (tasks.length === 0) throw new TaskError('a task mixture needs at least one task');
    const lengths = new Set(tasks.map((t) => t.seqLen));
    if (lengths.size !== 1) throw new TaskError(`a task mixture needs equal sequence lengths, got ${[...lengths].join(', ')}`);
    this.name = name;
    this.tasks = tasks;
    this.seqLen = tasks[0].seqLen;
    this.vocabSize = Math.max(...tasks.map((t) => t.vocabSize));
    this.maxTargets = Math.max(...tasks.map((t) => t.maxTargets));
    this.evalLevels = evalLevels;
    for (const level of evalLevels) for (const t of tasks) t.sample(new Rng(0), level); // validates the levels
  }
  get info(): Record<string, unknown> {
    return { name: this.name, seq_len: this.seqLen, vocab_size: this.vocabSize, tasks: this.tasks.map((t) => t.info) };
  }
  sample(rng: Rng, level?: number): Example {
    const task = this.tasks[rng.int(0, this.tasks.length)];
    const ex = task.sample(rng, level);
    for (const q of ex.queries) q.axes = { ...q.axes, task: task.name };
    return ex;
  }
}
