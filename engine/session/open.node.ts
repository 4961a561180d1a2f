// Opening decode sessions on a named backend, for the command line (generate, bench). Node only.
// Adding a backend = one entry in `openers` that returns a SessionHost.

import { CpuEngine } from '../cpu/forward.ts';
import type { Checkpoint } from '../checkpoint/load.ts';
import type { HymbaConfig } from '../config.ts';
import type { DecodeSession, SessionOptions } from './types.ts';
import { WebGpuEngine } from '../webgpu/engine.ts';
import { nodeGpu } from '../webgpu/node-device.node.ts';

export type BackendName = 'cpu' | 'webgpu';
export const BACKENDS: readonly BackendName[] = ['cpu', 'webgpu'];

export class BackendUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendUnavailableError';
  }
}

/** A model loaded on a backend, ready to open any number of sessions over it. */
export interface SessionHost {
  backend: BackendName;
  config: HymbaConfig;
  open(opts?: SessionOptions): Promise<DecodeSession>;
  dispose(): void;
}

const openers: Record<BackendName, (ck: Checkpoint) => Promise<SessionHost>> = {
  async cpu(ck) {
    const engine = new CpuEngine(ck);
    return { backend: 'cpu', config: engine.config, open: async (opts) => engine.session(opts), dispose: () => engine.dispose() };
  },
  async webgpu(ck) {
    const engine = await WebGpuEngine.create(await nodeGpu(), ck);
    return { backend: 'webgpu', config: engine.config, open: (opts) => engine.session(opts), dispose: () => engine.dispose() };
  },
};

export async function openBackend(backend: string, ck: Checkpoint): Promise<SessionHost> {
  if (!BACKENDS.includes(backend as BackendName))
    throw new BackendUnavailableError(`unknown backend "${backend}" (backends: ${BACKENDS.join(', ')})`);
  return openers[backend as BackendName](ck);
}
