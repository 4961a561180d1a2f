// What the CLI commands share about their files (Node only): inputs read as strict UTF-8, outputs that must not be
// inputs, outputs written atomically (a temp file or folder in the same place, then a rename), and results that must
// be finite before anything is written.
import { existsSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from './args.ts';

/** What a command may load into memory: half the machine's RAM (a checkpoint is held once, plus the engine's copy). */
export const MAX_MODEL_BYTES = Math.floor(os.totalmem() / 2);

/** A result with NaN or ±Inf values: the model overflowed; nothing is written from it. */
export class NonFiniteOutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NonFiniteOutputError';
  }
}

/** Throw NonFiniteOutputError when `data` holds a NaN or ±Inf, saying where (`what`) and how many. */
export function checkFinite(data: Float32Array, what: string): void {
  let count = 0;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) count++;
  if (count > 0)
    throw new NonFiniteOutputError(
      `${what}: ${count} of ${data.length} values are NaN or ±Inf (the model overflowed); nothing was written`,
    );
}

/** The byte offset of the first invalid UTF-8 sequence in `bytes`, or -1 when it is all valid. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    const n = b < 0x80 ? 0 : b >= 0xc2 && b < 0xe0 ? 1 : b >= 0xe0 && b < 0xf0 ? 2 : b >= 0xf0 && b < 0xf5 ? 3 : -1;
    if (n < 0) return i;
    // Second-byte ranges that exclude overlong forms, surrogates and code points past U+10FFFF.
    const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
    const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return -1;
}

/** A text input file (`--flag FILE`), refused with its name and the byte offset when it is not valid UTF-8. */
export function readTextInput(flag: string, file: string): string {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`--${flag} ${file}: ${code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? (e as Error).message})`}`);
  }
  return decodeUtf8(flag, file, bytes);
}

/** The text of an input file's bytes; UsageError with the file and the byte offset when they are not valid UTF-8. */
export function decodeUtf8(flag: string, file: string, bytes: Uint8Array): string {
  const bad = firstInvalidUtf8(bytes);
  if (bad >= 0) throw new UsageError(`--${flag} ${file}: not valid UTF-8 at byte ${bad} (0x${bytes[bad].toString(16).padStart(2, '0')})`);
  return new TextDecoder().decode(bytes);
}

/** The real path a file would have: its folder's real path (symlinks resolved) and its name, or its own if it exists. */
function realTarget(file: string): string {
  const abs = path.resolve(file);
  if (existsSync(abs)) return realpathSync(abs);
  const dir = path.dirname(abs);
  return path.join(existsSync(dir) ? realpathSync(dir) : dir, path.basename(abs));
}

/** Every file of a model folder (config, checkpoint files, tokenizer): what an output must never overwrite. */
export function folderInputs(dir: string): string[] {
  try {
    return readdirSync(dir).map((name) => path.join(dir, name));
  } catch {
    return [];
  }
}

/** Refuse `--flag out` when it is (or links to) one of the input files. */
export function refuseInputAsOutput(flag: string, out: string, inputs: string[]): void {
  const target = realTarget(out);
  const same = inputs.find((f) => existsSync(f) && realpathSync(f) === target);
  if (same !== undefined) throw new UsageError(`--${flag} ${out} is an input of this command (${same}); write the output elsewhere`);
  if (existsSync(target) && statSync(target).isDirectory()) throw new UsageError(`--${flag} ${out} is a folder; give a file name`);
}

/** A sibling of `target` in the same folder (so a rename is atomic), unused and hidden. */
function tempSibling(target: string, what: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${what}-${process.pid}-${Date.now().toString(36)}`);
}

/** Write a file whole or not at all: a temp file in the same folder, renamed over the target. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = tempSibling(path.resolve(file), 'tmp');
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Refuse `--flag dir` when it is a file, or an existing folder without `force`. */
export function checkFolderTarget(flag: string, dir: string, force: boolean): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new UsageError(`--${flag} ${dir} exists and is not a folder`);
  if (!force) throw new UsageError(`--${flag} ${dir} already exists (a model folder?); give --force to replace it`);
}

/**
 * Write a folder through `write(tmp)` into a sibling temp folder, then put it in place. An existing folder is
 * replaced only with `force`: it is renamed aside, the new one renamed in, and the old one removed, so at every
 * moment `dir` is the old folder or the new one, complete.
 */
export async function replaceFolder(flag: string, dir: string, force: boolean, write: (tmp: string) => Promise<void>): Promise<void> {
  checkFolderTarget(flag, dir, force);
  const target = path.resolve(dir);
  const tmp = tempSibling(target, 'tmp');
  try {
    await write(tmp);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  if (!existsSync(target)) return renameSync(tmp, target);
  const old = tempSibling(target, 'old');
  renameSync(target, old);
  renameSync(tmp, target);
  rmSync(old, { recursive: true, force: true });
}
