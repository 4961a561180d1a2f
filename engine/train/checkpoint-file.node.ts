// Training checkpoints on disk (Node only): one safetensors file holding the parameters, AdamW's moments and the
// losses so far (f32, exact), with the step, the data stream's Rng state and the run's identity in its metadata.
// Written to a temporary name and renamed, so a process killed mid-write leaves the previous checkpoint intact.
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { headerLength, parseHeader, toFloat32, writeSafetensors } from '../checkpoint/safetensors.ts';
import { TrainError, type TrainCheckpoint } from './trainer.ts';

const TENSORS = ['params', 'adam.m', 'adam.v', 'losses'] as const;

export async function saveTrainCheckpoint(file: string, ck: TrainCheckpoint): Promise<void> {
  const data = { params: ck.params, 'adam.m': ck.adamM, 'adam.v': ck.adamV, losses: ck.losses };
  const meta = { run: ck.run, step: ck.step, dataRng: ck.dataRng, curve: ck.curve, trainSeconds: ck.trainSeconds };
  const bytes = writeSafetensors(
    TENSORS.map((name) => ({ name, dtype: 'F32' as const, shape: [data[name].length], data: data[name] })),
    { format: 'hymba-lab-train-checkpoint', state: JSON.stringify(meta) },
  );
  await writeFile(`${file}.tmp`, bytes);
  await rename(`${file}.tmp`, file);
}

/** The checkpoint in `file`, or null when there is none (a fresh run). */
export async function loadTrainCheckpoint(file: string): Promise<TrainCheckpoint | null> {
  if (!existsSync(file)) return null;
  const bytes = new Uint8Array(await readFile(file));
  const header = parseHeader(file, bytes.subarray(8, 8 + headerLength(file, bytes, bytes.length)), bytes.length);
  if (header.metadata.format !== 'hymba-lab-train-checkpoint') throw new TrainError(`${file} is not a training checkpoint`);
  const t = (name: string) => {
    const e = header.tensors.get(name);
    if (!e) throw new TrainError(`${file}: the checkpoint has no "${name}" tensor`);
    return toFloat32(e, bytes.subarray(e.begin, e.end));
  };
  const meta = JSON.parse(header.metadata.state) as Pick<TrainCheckpoint, 'run' | 'step' | 'dataRng' | 'curve' | 'trainSeconds'>;
  return { ...meta, params: t('params'), adamM: t('adam.m'), adamV: t('adam.v'), losses: t('losses') };
}

export async function removeTrainCheckpoint(file: string): Promise<void> {
  await rm(file, { force: true });
}
