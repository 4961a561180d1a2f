// The page's engine controller, in Node with the CPU engine on a golden model served by a fake fetch: models load
// once and are shared, identical requests run once, work runs one piece at a time in order, failures are readable
// and not cached, and a lost device makes the next request reload.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EngineController, ModelNameError, ModelNotFoundError, requestKey, formatBytes } from '../site/lib/page/engine-controller.ts';
import { WebGpuUnavailableError, DeviceLostError, type GpuContext } from '../engine/webgpu/device.ts';
import { CpuEngine } from '../engine/cpu/forward.ts';
import { goldenDir } from './paths.ts';

const GOLDEN = goldenDir('pub_a_m8_d64');
const BASE = 'http://site.test/';

/** A site whose models/tiny/ is the golden model; records every URL fetched. */
function fakeSite() {
  const fetched: string[] = [];
  const files: Record<string, string> = {
    [`${BASE}models/tiny/config.json`]: path.join(GOLDEN, 'config.json'),
    [`${BASE}models/tiny/model.safetensors`]: path.join(GOLDEN, 'model.safetensors'),
  };
  const fetchImpl = (async (input: string | URL | Request) => {
    const url = String(input);
    fetched.push(url);
    const file = files[url];
    if (!file) return new Response('not found', { status: 404 });
    const bytes = readFileSync(file);
    return new Response(bytes, { headers: { 'content-length': String(bytes.length) } });
  }) as typeof fetch;
  return { fetched, fetchImpl };
}

describe('EngineController', () => {
  it('loads a model once for every asker, reports download progress, and says it runs on the CPU', async () => {
    const { fetched, fetchImpl } = fakeSite();
    const c = new EngineController({ base: BASE, fetch: fetchImpl, siteFiles: null });
    const progress: number[] = [];
    c.onProgress('tiny', (p) => progress.push(p.loaded));
    const [a, b] = await Promise.all([c.load('tiny'), c.load('tiny')]);
    expect(a).toBe(b);
    expect(fetched.filter((u) => u.endsWith('model.safetensors'))).toHaveLength(1);
    expect(a.tier).toBe('cpu');
    expect(a.engine).toBeInstanceOf(CpuEngine);
    expect(a.note).toMatch(/CPU/);
    const size = readFileSync(path.join(GOLDEN, 'model.safetensors')).length + readFileSync(path.join(GOLDEN, 'config.json')).length;
    expect(progress.at(-1)).toBe(size);
    expect(progress).toEqual([...progress].sort((x, y) => x - y));
  });

  it('answers identical requests once, queues the rest in order, and does not keep failures', async () => {
    const { fetchImpl } = fakeSite();
    const c = new EngineController({ base: BASE, fetch: fetchImpl, siteFiles: null });
    const order: string[] = [];
    const forward = (ids: number[]) => async () => {
      const m = await c.load('tiny');
      order.push(`start ${ids}`);
      const r = await m.engine.forward(ids);
      order.push(`end ${ids}`);
      return r.logits;
    };
    const key = (ids: number[]) => requestKey('tiny', 'forward', { ids, meta: true });
    const [x, y, z] = await Promise.all([
      c.run(key([1, 2]), forward([1, 2])),
      c.run(key([1, 2]), forward([1, 2])),
      c.run(key([3]), forward([3])),
    ]);
    expect(x).toBe(y);
    expect(z).not.toBe(x);
    expect(c.runs).toBe(2);
    expect(order).toEqual(['start 1,2', 'end 1,2', 'start 3', 'end 3']); // one at a time, in the order asked
    // The answer is the engine's: the same as running the CPU engine directly.
    const direct = await (await c.load('tiny')).engine.forward([1, 2]);
    expect(Array.from(x.data)).toEqual(Array.from(direct.logits.data));
    // A recent result is reused without running.
    await c.run(key([1, 2]), forward([1, 2]));
    expect(c.runs).toBe(2);

    let attempts = 0;
    const failing = async () => {
      attempts++;
      throw new Error('boom');
    };
    await expect(c.run('k', failing)).rejects.toThrow('boom');
    await expect(c.run('k', failing)).rejects.toThrow('boom');
    expect(attempts).toBe(2);
    // The queue goes on after a failure.
    expect(await c.run('after', async () => 42)).toBe(42);
  });

  it('keys requests by model, op and settings, whatever the settings order', () => {
    expect(requestKey('m', 'op', { a: 1, b: [2] })).toBe(requestKey('m', 'op', { b: [2], a: 1 }));
    expect(requestKey('m', 'op', { a: 1 })).not.toBe(requestKey('m', 'op', { a: 2 }));
    expect(requestKey('m', 'op')).not.toBe(requestKey('n', 'op'));
  });

  it('turns a missing model and a bad name into readable errors, without fetching off the models folder', async () => {
    const { fetched, fetchImpl } = fakeSite();
    const c = new EngineController({ base: BASE, fetch: fetchImpl, siteFiles: null });
    await expect(c.load('nope')).rejects.toThrow(new ModelNotFoundError(`${BASE}models/nope/`).message);
    await expect(c.load('nope')).rejects.toBeInstanceOf(ModelNotFoundError);
    expect(fetched.filter((u) => u.includes('nope'))).toHaveLength(2); // not cached: asked again, fetched again
    expect(() => c.modelUrl('../secrets')).toThrow(ModelNameError);
    expect(() => c.modelUrl('https:evil.com')).toThrow(ModelNameError);
    expect(await c.modelJson('tiny', 'card.json')).toBeNull();

    // With the build's list of model files, an unlisted model is "not found" with no request at all.
    const listed = new EngineController({ base: BASE, fetch: fetchImpl, siteFiles: new Set(['tiny/config.json']) });
    const before = fetched.length;
    await expect(listed.load('hymba')).rejects.toThrow(`model not found at ${BASE}models/hymba/`);
    expect(await listed.exists('hymba')).toBe(false);
    expect(await listed.modelJson('hymba', 'card.json')).toBeNull();
    expect(fetched.length).toBe(before);
    expect(await listed.exists('tiny')).toBe(true);
    // A listed model loads; the JSON files the build did not list (the shard index) are not even asked for.
    await listed.load('tiny');
    expect(fetched.filter((u) => u.endsWith('.index.json'))).toEqual([]);
  });

  it('falls back to the CPU with the reason when WebGPU is missing', async () => {
    const { fetchImpl } = fakeSite();
    const c = new EngineController({
      base: BASE,
      fetch: fetchImpl,
      siteFiles: null,
      gpu: async () => {
        throw new WebGpuUnavailableError('WebGPU is not available here (no navigator.gpu).');
      },
      webgpuEngine: async () => () => Promise.reject(new Error('never called')),
    });
    const m = await c.load('tiny');
    expect(m.tier).toBe('cpu');
    expect(m.note).toBe('Running on the CPU (slower): WebGPU is not available here (no navigator.gpu).');
  });

  it('after the device is lost, forgets the model so the next request loads it on a new device', async () => {
    const { fetchImpl } = fakeSite();
    let loseDevice!: () => void;
    let devices = 0;
    let builds = 0;
    const c = new EngineController({
      base: BASE,
      fetch: fetchImpl,
      siteFiles: null,
      gpu: async () => {
        devices++;
        const lost = new Promise<DeviceLostError>((resolve) => (loseDevice = () => resolve(new DeviceLostError('unknown', 'test'))));
        return { lost } as unknown as GpuContext;
      },
      webgpuEngine: async () => async (ck) => {
        builds++;
        return new CpuEngine(ck); // stands in for the WebGPU engine
      },
    });
    const first = await c.load('tiny');
    expect(first.tier).toBe('webgpu');
    await c.run(requestKey('tiny', 'x'), async () => 1);
    expect(await c.load('tiny')).toBe(first);
    loseDevice();
    await new Promise((r) => setTimeout(r, 0));
    const second = await c.load('tiny');
    expect(second).not.toBe(first);
    expect([devices, builds]).toEqual([2, 2]);
    // Results computed on the lost device are not reused.
    let ran = false;
    await c.run(requestKey('tiny', 'x'), async () => (ran = true));
    expect(ran).toBe(true);
  });

  it('formats bytes as the paper does (decimal units)', () => {
    expect(formatBytes(917_504_000)).toBe('918 MB');
    expect(formatBytes(78_602_240)).toBe('78.6 MB');
    expect(formatBytes(1920)).toBe('1.92 kB');
    expect(formatBytes(12)).toBe('12 B');
  });
});
