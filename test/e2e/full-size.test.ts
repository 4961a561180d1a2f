// Lesson 8 in headless Chromium (WebGPU on SwiftShader), on the built site:
//  - <hymba-full-size>: the 1.5B layer map (32 layers, 17 KV owners, the [16, 17, 18] triple) and the cache table
//    (Llama-3.2-3B 917.5 MB vs Hymba 77.8 MB at 8,000 tokens, checked against hand arithmetic and the paper's 918 / 79);
//    the random-weights speed run cut to 2 layers;
//  - <hymba-chat>: a golden model rewritten here as bf16 shards, picked through the real file input with a tiny
//    tokenizer, loaded by the streaming loader, chatting a few tokens with live cache numbers; kept in browser storage,
//    found again after a reload, and forgotten.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { assertWebGpuAdapter, openSite, screenshot, waitForStatus, type Site } from './harness.ts';
import { loadCheckpoint } from '../../engine/checkpoint/load.ts';
import { folderFiles } from '../../engine/checkpoint/folder.node.ts';
import { writeSafetensors } from '../../engine/checkpoint/safetensors.ts';
import { goldenDir } from '../paths.ts';

const LESSON = '/lessons/08-full-size/';
const GOLDEN = 'pub_c_m16_d48'; // vocab 300: room for a tiny tokenizer
let site: Site;
let tmp: string;
let modelFiles: string[];

/** A Llama-style tokenizer.json whose 300 ids all decode: specials, "▁", letters, then filler pieces. */
function tinyTokenizer(vocabSize: number): string {
  const pieces = ['<unk>', '<s>', '</s>', '▁', ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!?.,'];
  for (let i = 0; pieces.length < vocabSize; i++) pieces.push(`▁w${i}`);
  return JSON.stringify({
    added_tokens: [
      { id: 1, content: '<s>', special: true, normalized: false, lstrip: false, rstrip: false, single_word: false },
      { id: 2, content: '</s>', special: true, normalized: false, lstrip: false, rstrip: false, single_word: false },
    ],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: false,
      vocab: Object.fromEntries(pieces.map((p, i) => [p, i])),
      merges: [],
    },
  });
}

beforeAll(async () => {
  // The golden model as two bf16 shards + index, with config and tokenizer: a model folder as NVIDIA's is laid out.
  tmp = mkdtempSync(path.join(os.tmpdir(), 'hymba-fullsize-'));
  const golden = await loadCheckpoint(folderFiles(goldenDir(GOLDEN)));
  const names = [...golden.weights.keys()];
  const half = Math.ceil(names.length / 2);
  const weightMap: Record<string, string> = {};
  [names.slice(0, half), names.slice(half)].forEach((group, s) => {
    const file = `model-0000${s + 1}-of-00002.safetensors`;
    const tensors = group.map((name) => {
      const w = golden.weights.get(name)!;
      weightMap[name] = file;
      return {
        name,
        dtype: 'BF16' as const,
        shape: w.shape,
        data: new Float32Array(w.bytes.buffer.slice(w.bytes.byteOffset, w.bytes.byteOffset + w.bytes.length)),
      };
    });
    writeFileSync(path.join(tmp, file), writeSafetensors(tensors));
  });
  writeFileSync(path.join(tmp, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  writeFileSync(path.join(tmp, 'config.json'), readFileSync(path.join(goldenDir(GOLDEN), 'config.json')));
  writeFileSync(path.join(tmp, 'tokenizer.json'), tinyTokenizer(golden.config.vocabSize));
  writeFileSync(path.join(tmp, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<s>', eos_token: '</s>' }));
  modelFiles = [
    'config.json',
    'model.safetensors.index.json',
    'model-00001-of-00002.safetensors',
    'model-00002-of-00002.safetensors',
    'tokenizer.json',
    'tokenizer_config.json',
  ].map((f) => path.join(tmp, f));
  site = await openSite();
});

afterAll(async () => {
  await site?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function openLesson(): Promise<Page> {
  const page = await site.open(LESSON);
  await assertWebGpuAdapter(page);
  return page;
}

describe('lesson 8: <hymba-full-size>', () => {
  it('draws the 1.5B layer map and the cache table from the config', async () => {
    const page = await openLesson();
    await page.locator('hymba-full-size').scrollIntoViewIfNeeded();
    await waitForStatus(page, 'hymba-full-size', 'ready');
    const map = await page.$eval('hymba-full-size', (el) => el.layerCells.map((l) => ({ layer: l.layer, kind: l.kind, owner: l.owner })));
    expect(map).toHaveLength(32);
    expect(map.filter((l) => l.owner === l.layer)).toHaveLength(17);
    expect(map.filter((l) => l.kind === 'global').map((l) => l.layer)).toEqual([0, 15, 31]);
    expect(map.filter((l) => l.owner === 16).map((l) => l.layer)).toEqual([16, 17, 18]);
    // The strip draws what the data says: 32 boxes, 15 sharing arcs.
    expect(await page.locator('hymba-full-size g.layer').count()).toBe(32);
    expect(await page.locator('hymba-full-size path.share').count()).toBe(15);

    const rows = await page.$eval('hymba-full-size', (el) => el.cacheRows);
    const at8k = rows.find((r) => r.tokens === 8000)!;
    // By hand: Llama-3.2-3B 2 (K, V) × 28 layers × 8 KV heads × 128 dims × 2 B × 8,000 tokens.
    expect(at8k.baselineKv).toBe(2 * 28 * 8 * 128 * 2 * 8000);
    // Hymba: 1,920 B per position (5 heads × (64 + 128) × 2 B); 3 global layers × (128 + 8,000), 14 owners × (128 + 1,024).
    expect(at8k.hymbaKv).toBe(1920 * (3 * 8128 + 14 * 1152));
    // The paper's rounded numbers: 918 MB and 79 MB (its Table 1 says 78.6 with a conv state added).
    expect(Math.round(at8k.baselineKv / 1e6)).toBe(918);
    expect(Math.abs(at8k.hymbaKv / 1e6 - 79)).toBeLessThan(1.5);
    const shown = await page.$eval('hymba-full-size', (el) => {
      const row = el.shadowRoot!.querySelector('tr[data-tokens="8000"]')!;
      return [row.querySelector('.baseline')!.textContent, row.querySelector('.hymba')!.textContent];
    });
    expect(shown).toEqual(['917.5 MB', '77.8 MB']);
    expect(rows.map((r) => r.tokens)).toEqual([1000, 8000, 32000]);
    await page.close();
  });

  // SwiftShader emulates the GPU on the CPU: one full-width layer takes tens of seconds per token here, so the run is
  // cut to 1 layer and 1 timed step (after the untimed prefill and warm-up step).
  it('times decode steps on random full-width weights (1 layer on SwiftShader)', async () => {
    const page = await openLesson();
    await page.locator('hymba-full-size').scrollIntoViewIfNeeded();
    await waitForStatus(page, 'hymba-full-size', 'ready');
    await page.$eval('hymba-full-size', (el) => {
      el.layers = 1;
      el.steps = 1;
    });
    await waitForStatus(page, 'hymba-full-size', 'ready');
    await page.locator('hymba-full-size button[name=speed]').click();
    await page.waitForFunction(() => ['done', 'error'].includes(document.querySelector('hymba-full-size')!.speedState), null, {
      timeout: 400_000,
    });
    const result = await page.$eval('hymba-full-size', (el) => ({ state: el.speedState, message: el.speedMessage, speed: el.speed }));
    expect(result.message).toBe('');
    expect(result.state).toBe('done');
    expect(result.speed!.layers).toBe(1);
    expect(result.speed!.steps).toBe(1);
    expect(result.speed!.msPerToken).toBeGreaterThan(0);
    expect(result.speed!.tokensPerSecond).toBeCloseTo(1000 / result.speed!.msPerToken, 6);
    expect(await page.locator('hymba-full-size .speed-result').textContent()).toContain('tokens/s');
    await screenshot(page, 'full-size');
    await page.close();
  }, 450_000);
});

describe('lesson 8: <hymba-chat>', () => {
  async function loadPicked(page: Page, keep: boolean): Promise<void> {
    await page.locator('hymba-chat').scrollIntoViewIfNeeded();
    await waitForStatus(page, 'hymba-chat', 'ready');
    if (keep) await page.locator('hymba-chat input[name=keep]').check();
    await page.locator('hymba-chat input[name=files]').setInputFiles(modelFiles);
    await page.waitForFunction(
      () => {
        const el = document.querySelector('hymba-chat')!;
        return el.model !== null || el.loadError !== '';
      },
      null,
      { timeout: 120_000 },
    );
    expect(await page.$eval('hymba-chat', (el) => el.loadError)).toBe('');
  }

  it('loads picked bf16 shards through the streaming loader and chats, with live cache numbers', async () => {
    const page = await openLesson();
    await loadPicked(page, true);
    const loaded = await page.$eval('hymba-chat', (el) => ({ layers: el.model!.config.numLayers, width: el.model!.config.hiddenSize }));
    expect(loaded).toEqual({ layers: 7, width: 48 });
    await page.$eval('hymba-chat', (el) => (el.maxTokens = 4)); // a few tokens: SwiftShader is slow
    await page.locator('hymba-chat textarea[name=prompt]').fill('hello there');
    await page.locator('hymba-chat button[name=send]').click();
    await page.waitForFunction(
      () => {
        const el = document.querySelector('hymba-chat')!;
        return !el.generating && el.chatLog.length === 2;
      },
      null,
      { timeout: 120_000 },
    );
    const chat = await page.$eval('hymba-chat', (el) => ({
      error: el.loadError,
      log: el.chatLog,
      ids: el.lastReplyIds,
      usage: el.usage && { total: el.usage.total_bytes, kv: el.usage.kv_bytes },
      tokens: el.sessionTokens,
    }));
    expect(chat.error).toBe('');
    expect(chat.log[0]).toEqual({ role: 'user', content: 'hello there' });
    expect(chat.log[1].role).toBe('assistant');
    expect(chat.ids.length).toBeGreaterThan(0);
    expect(chat.ids.length).toBeLessThanOrEqual(4);
    expect(chat.usage!.kv).toBeGreaterThan(0);
    expect(chat.tokens).toBeGreaterThan(10);
    const usageLine = await page.locator('hymba-chat .usage').getAttribute('data-total-bytes');
    expect(Number(usageLine)).toBe(chat.usage!.total);
    await screenshot(page, 'full-size-chat');
    await page.close();
  }, 240_000);

  it('kept the files in browser storage: after a reload they load from there, and "Forget" removes them', async () => {
    const page = await openLesson();
    await page.locator('hymba-chat').scrollIntoViewIfNeeded();
    await waitForStatus(page, 'hymba-chat', 'ready');
    const stored = await page.$eval('hymba-chat', (el) => el.stored.map((s) => ({ id: s.id, files: s.files.length, backend: s.backend })));
    expect(stored).toHaveLength(1);
    expect(stored[0].files).toBe(6);
    expect(stored[0].backend).toBe('opfs');
    await page.locator('hymba-chat button[name=load-stored]').click();
    await page.waitForFunction(
      () => document.querySelector('hymba-chat')!.model !== null || document.querySelector('hymba-chat')!.loadError !== '',
      null,
      {
        timeout: 120_000,
      },
    );
    expect(await page.$eval('hymba-chat', (el) => [el.loadError, el.model!.label])).toEqual(['', expect.stringContaining('stored model')]);
    await page.locator('hymba-chat button[name=unload]').click();
    await page.locator('hymba-chat button[name=forget]').click();
    await page.waitForFunction(() => document.querySelector('hymba-chat')!.stored.length === 0);
    await page.reload();
    await page.locator('hymba-chat').scrollIntoViewIfNeeded();
    await waitForStatus(page, 'hymba-chat', 'ready');
    expect(await page.$eval('hymba-chat', (el) => el.stored.length)).toBe(0);
    await page.close();
  }, 240_000);

  it('left no console errors and made no request off the site', () => {
    expect(site.consoleErrors).toEqual([]);
    expect(site.offOriginRequests).toEqual([]);
  });
});
