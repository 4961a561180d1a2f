// A model folder on disk (Node only).
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { CheckpointError, type ByteSource, type ModelFiles } from './load.ts';

export function folderFiles(dir: string): ModelFiles {
  return {
    label: dir,
    async open(name) {
      // path.join would happily resolve "../" out of the folder. Any other name (spaces, unicode) is a file in it.
      if (!isFileInFolder(name)) throw new CheckpointError(path.join(dir, name), 'refused: not the name of a file in the model folder');
      const file = path.join(dir, name);
      let size: number;
      try {
        const s = await stat(file);
        if (!s.isFile()) return null;
        size = s.size;
      } catch {
        return null;
      }
      return fileSource(file, size);
    },
  };
}

function isFileInFolder(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !/[/\\\0]/.test(name);
}

function fileSource(file: string, size: number): ByteSource {
  return {
    name: file,
    size,
    async read(offset, length) {
      const n = Math.max(0, Math.min(length, size - offset));
      const out = new Uint8Array(n);
      const fh = await open(file, 'r');
      try {
        let at = 0;
        while (at < n) {
          const { bytesRead } = await fh.read(out, at, n - at, offset + at);
          if (bytesRead === 0) break;
          at += bytesRead;
        }
        return at === n ? out : out.subarray(0, at);
      } finally {
        await fh.close();
      }
    },
  };
}
