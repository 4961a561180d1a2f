// Issue 18's size rule for what the site ships: the whole models/ folder is at most 40 MB, and the CPU tier (the
// page's engine controller without WebGPU) still loads and runs every model in it, at its full task length.
// Needs the trained zoo in models/: fails, never skips, when it is missing.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EngineController, formatBytes } from '../site/lib/page/engine-controller.ts';
import { WebGpuUnavailableError } from '../engine/webgpu/device.ts';
import { CpuEngine } from '../engine/cpu/forward.ts';
import { Rng } from '../engine/tasks/rng.ts';
import { taskByName } from '../engine/tasks/index.ts';
import { ZOO_NAMES } from '../engine/train/zoo.ts';
import { repoRoot } from './paths.ts';

const MODELS = path.join(repoRoot, 'models');
const BUDGET_BYTES = 40_000_000;

function folderBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((sum, e) => {
    const p = path.join(dir, e.name);
    return sum + (e.isDirectory() ? folderBytes(p) : statSync(p).size);
  }, 0);
}

/** Every model folder (one with a config.json; the English tokenizer's folder holds none). */
const modelNames = readdirSync(MODELS).filter((n) => existsSync(path.join(MODELS, n, 'config.json')));

describe('models/', () => {
  it('is at most 40 MB in all', () => {
    const bytes = folderBytes(MODELS);
    expect(bytes, `models/ holds ${formatBytes(bytes)}`).toBeLessThanOrEqual(BUDGET_BYTES);
  });

  it('holds every zoo name the site lists, and the English zoo', () => {
    for (const name of ZOO_NAMES) expect(modelNames, name).toContain(name);
    expect(modelNames.filter((n) => n.startsWith('en-'))).toHaveLength(8);
  });
});

describe('the CPU tier runs every shipped model', () => {
  // The page's controller, fetching from models/ on disk, with no WebGPU: the path a browser without it takes.
  const fetchImpl = (async (input: string | URL | Request) => {
    const file = path.join(MODELS, new URL(String(input)).pathname.replace(/^\/models\//, ''));
    if (!existsSync(file)) return new Response('not found', { status: 404 });
    const bytes = readFileSync(file);
    return new Response(bytes, { headers: { 'content-length': String(bytes.length) } });
  }) as typeof fetch;
  const controller = new EngineController({
    base: 'http://site.test/',
    fetch: fetchImpl,
    siteFiles: null,
    gpu: async () => {
      throw new WebGpuUnavailableError('WebGPU is not available here (no navigator.gpu).');
    },
  });

  for (const name of modelNames) {
    it(name, async () => {
      const m = await controller.load(name);
      expect(m.tier).toBe('cpu');
      expect(m.engine).toBeInstanceOf(CpuEngine);
      const c = m.engine.config;
      // A synthetic model reads its task's full 128-token sequences; an English one its 128-token windows.
      const ids = name.startsWith('en-')
        ? Array.from({ length: 128 }, (_, i) => 3 + ((i * 7919) % (c.vocabSize - 3)))
        : Array.from(taskByName('mix-128').sample(new Rng(7), 16).ids);
      expect(ids).toHaveLength(128);
      const { logits } = await m.engine.forward(ids);
      expect(logits.data.length).toBe(ids.length * c.vocabSize);
      expect(logits.data.every(Number.isFinite)).toBe(true);
    });
  }
});
