// A training mixture of synthetic tasks of one length: each example is drawn from one member task, picked at random
// with fixed weights. The synthetic zoo trains one model per design on MQAR-512, selective copying and the majority
// task together (docs/zoo.md says why a mixture and why these weights). Evaluation uses the member tasks themselves.
import type { Rng } from '../tasks/rng.ts';
import { TaskError, type Example, type Task } from '../tasks/types.ts';

export class MixtureTask implements Task {
  readonly name: string;
  readonly seqLen: number;
  readonly vocabSize: number;
  readonly maxTargets: number;
  readonly members: ReadonlyArray<{ task: Task; weight: number }>;
  private readonly cumulative: number[];

  constructor(name: string, members: Array<{ task: Task; weight: number }>) {
    if (members.length === 0) throw new TaskError('a mixture needs at least one task');
    const L = members[0].task.seqLen;
    for (const m of members) {
      if (m.task.seqLen !== L) throw new TaskError(`a mixture's tasks share one length: ${m.task.name} has ${m.task.seqLen}, not ${L}`);
      if (!(m.weight > 0)) throw new TaskError(`mixture weight of ${m.task.name} must be > 0, got ${m.weight}`);
    }
    this.name = name;
    this.members = members;
    this.seqLen = L;
    this.vocabSize = Math.max(...members.map((m) => m.task.vocabSize));
    this.maxTargets = Math.max(...members.map((m) => m.task.maxTargets));
    const total = members.reduce((s, m) => s + m.weight, 0);
    let acc = 0;
    this.cumulative = members.map((m) => (acc += m.weight / total));
  }

  get info(): Record<string, unknown> {
    return {
      name: this.name,
      seq_len: this.seqLen,
      vocab_size: this.vocabSize,
      mixture: this.members.map((m) => ({ weight: m.weight, ...m.task.info })),
    };
  }

  /** One example of a member task picked by weight (a difficulty level is meaningless across tasks: use the members). */
  sample(rng: Rng, level?: number): Example {
    if (level !== undefined) throw new TaskError(`the mixture ${this.name} has no difficulty levels: evaluate its member tasks`);
    const u = rng.uniform();
    const i = this.cumulative.findIndex((c) => u < c);
    return this.members[i < 0 ? this.members.length - 1 : i].task.sample(rng);
  }
}
