// The synthetic tasks shared by training, evaluation and the lessons.
import { MajorityTask } from './majority.ts';
import { MixTask } from './mix.ts';
import { MQAR_512, MqarTask } from './mqar.ts';
import { COPY_512, SelectiveCopyTask } from './selective-copy.ts';
import { TaskError, type Task } from './types.ts';

export { Rng } from './rng.ts';
export { MqarTask, mqarExample, MQAR_128, MQAR_512 } from './mqar.ts';
export { SelectiveCopyTask, selectiveCopyExample, orderBucket, COPY_512 } from './selective-copy.ts';
export { MajorityTask, majorityExample, marginBucket, MAJORITY_512, MAJORITY_LAYOUT } from './majority.ts';
export { MixTask } from './mix.ts';
export { RecallScore, DISTANCE_EDGES, type ScoreTable } from './distance.ts';
export { TaskError, type Task, type Example, type Query } from './types.ts';

/**
 * The tasks by CLI name (`--task NAME`). mqar / copy: the lesson defaults (MQAR-128; selective copying of 16 tokens
 * in 128). The 512-token tasks of issue 18 (docs/zoo.md, "Tasks that separate the designs"): mqar-512 (16–64 pairs),
 * copy-512 (8–32 tokens), majority-512 (the most frequent of 2–16 classes, asked 128+ tokens after the last one),
 * and mix-512, one of those three per example (one model trained on all three; answers labelled by task).
 */
const TASKS: Record<string, () => Task> = {
  mqar: () => new MqarTask(),
  copy: () => new SelectiveCopyTask(),
  'mqar-512': () => new MqarTask(MQAR_512),
  'copy-512': () => new SelectiveCopyTask(COPY_512),
  'majority-512': () => new MajorityTask(),
  'mix-512': () => new MixTask('mix-512', [new MqarTask(MQAR_512), new SelectiveCopyTask(COPY_512), new MajorityTask()]),
};

export const TASK_NAMES = Object.keys(TASKS);

export function taskByName(name: string): Task {
  const make = Object.hasOwn(TASKS, name) ? TASKS[name] : undefined;
  if (!make) throw new TaskError(`unknown task "${name}" (tasks: ${TASK_NAMES.join(', ')})`);
  return make();
}
