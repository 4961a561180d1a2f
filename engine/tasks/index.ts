// The synthetic tasks shared by training, evaluation and the lessons.
import { MqarTask } from './mqar.ts';
import { SelectiveCopyTask } from './selective-copy.ts';
import { TaskError, type Task } from './types.ts';

export { Rng } from './rng.ts';
export { MqarTask, mqarExample, MQAR_128 } from './mqar.ts';
export { SelectiveCopyTask, selectiveCopyExample } from './selective-copy.ts';
export { RecallScore, DISTANCE_EDGES } from './distance.ts';
export { TaskError, type Task, type Example, type Query } from './types.ts';

export const TASK_NAMES = ['mqar', 'copy'] as const;

/** A task by its CLI name, with the lesson defaults (MQAR-128; selective copying of 16 tokens in 128). */
export function taskByName(name: string): Task {
  if (name === 'mqar') return new MqarTask();
  if (name === 'copy') return new SelectiveCopyTask();
  throw new TaskError(`unknown task "${name}" (tasks: ${TASK_NAMES.join(', ')})`);
}
