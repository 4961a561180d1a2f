// Node-only helpers: model folders on disk, WebGPU through Dawn, and loading an engine in one call.
import { loadCheckpoint } from './checkpoint/load.ts';
import { folderFiles } from './checkpoint/folder.node.ts';
import { CpuEngine } from './cpu/forward.ts';
import { WebGpuEngine, type WebGpuEngineOptions } from './webgpu/engine.ts';
import { nodeGpu } from './webgpu/node-device.node.ts';
import type { Engine } from './model.ts';

export { folderFiles, nodeGpu };

export class UnknownBackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnknownBackendError';
  }
}

export interface LoadEngineOptions extends WebGpuEngineOptions {
  /** 'webgpu' (default; Dawn in Node) or 'cpu'. */
  backend?: string;
}

/** Load a model folder onto a backend. WebGpuUnavailableError when Dawn finds no adapter. */
export async function loadEngine(dir: string, opts: LoadEngineOptions = {}): Promise<Engine> {
  const backend = opts.backend ?? 'webgpu';
  if (backend !== 'webgpu' && backend !== 'cpu') throw new UnknownBackendError(`unknown backend "${backend}" (backends: webgpu, cpu)`);
  const ck = await loadCheckpoint(folderFiles(dir));
  if (backend === 'cpu') return new CpuEngine(ck);
  return WebGpuEngine.create(await nodeGpu(), ck, opts);
}
