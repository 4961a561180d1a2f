// What <hymba-stepper> and <hymba-attention-map> run for an English model (site/lib/content/english-tokens.ts):
// typed text → normalised → word pieces → ids, with typed errors for what the models cannot read, and the WebGPU
// engine (Dawn; SwiftShader without a GPU) on those ids giving the CPU reference's logits and attention.
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { loadTokenizer } from '../engine/tokenizer/load.node.ts';
import { ENGLISH_SEQ_LEN, ENGLISH_TOKENIZER_DIR } from '../engine/text/english.node.ts';
import { ENGLISH_ZOO, ZOO_NAMES } from '../engine/train/zoo.ts';
import { loadCheckpoint } from '../engine/checkpoint/load.ts';
import { folderFiles } from '../engine/checkpoint/folder.node.ts';
import { CpuEngine } from '../engine/cpu/forward.ts';
import { WebGpuEngine } from '../engine/webgpu/engine.ts';
import { nodeGpu } from '../engine/webgpu/node-device.node.ts';
import { maxAbsDiff, type Tensor } from '../engine/tensor.ts';
import { attentionStats } from '../engine/analysis/attention-stats.ts';
import { STEP_TAPS } from '../site/lib/content/stepper-snippets.ts';
import {
  DEFAULT_TEXT,
  MAX_TEXT_CHARS,
  MAX_TEXT_TOKENS,
  TextError,
  encodeText,
  isEnglishModel,
  textLabels,
  topNext,
  unknownNote,
} from '../site/lib/content/english-tokens.ts';

const tokenizer = await loadTokenizer(ENGLISH_TOKENIZER_DIR);
const SENTENCE = 'Mary said that the old house on the hill was sold, and Mary was sad.';

describe('English text for the widgets', () => {
  it('the limits are the models’ own: 128 tokens (the training window), English models are the en-* zoo', () => {
    expect(MAX_TEXT_TOKENS).toBe(ENGLISH_SEQ_LEN);
    for (const e of ENGLISH_ZOO) expect(isEnglishModel(e.name), e.name).toBe(true);
    for (const name of ZOO_NAMES) expect(isEnglishModel(name), name).toBe(false);
    expect(isEnglishModel('en-nothing')).toBe(false);
  });

  it('a sentence becomes <s> + readable word pieces that decode back to the normalised text', () => {
    const typed = '  Mary said that the “old house”  on the hill was sold — and Mary was sad. ';
    const e = encodeText(tokenizer, typed);
    expect(e.text).toBe('Mary said that the "old house" on the hill was sold -- and Mary was sad.');
    expect(e.ids[0]).toBe(tokenizer.bosId);
    expect(e.pieces[0]).toBe('<s>');
    expect(e.pieces).toContain('▁the');
    expect(e.pieces).toContain('▁said');
    expect(tokenizer.decode(e.ids)).toBe(e.text);
    expect(e.unknown).toEqual([]);
    expect(unknownNote(e.unknown)).toBe('');
    expect(textLabels(e.pieces, 3)).toEqual(['m0', 'm1', 'm2', ...e.pieces]);
  });

  it('characters outside the alphabet become <unk>, each named once in the note', () => {
    const e = encodeText(tokenizer, 'Café au lait, café noir, 東京.');
    const unk = tokenizer.tokenToId('<unk>')!;
    expect(e.unknown).toEqual(['é', '東', '京']);
    expect(e.ids.filter((id) => id === unk).length).toBeGreaterThanOrEqual(3);
    expect(e.pieces).toContain('<unk>');
    const note = unknownNote(e.unknown);
    expect(note).toContain('“é”, “東”, “京” are not in the tokenizer');
    expect(note).toContain('<unk>');
    expect(unknownNote(['é'])).toContain('“é” is not');
  });

  it('empty text and text longer than the models read are typed errors that say what to do', () => {
    for (const empty of ['', '   ', '\n\t']) {
      expect(() => encodeText(tokenizer, empty)).toThrow(TextError);
      expect(() => encodeText(tokenizer, empty)).toThrow(/the text is empty: type an English sentence/);
    }
    const long = Array(40).fill('The man said so.').join(' ');
    expect(long.length).toBeGreaterThan(MAX_TEXT_CHARS); // the settings schema stops this before it gets here …
    const n = tokenizer.encode(long).length;
    expect(() => encodeText(tokenizer, long)).toThrow(`the text is ${n} tokens (with <s>); the English models read at most 128`);
    // … and a text within the character limit can still be too many tokens (every digit is a token of its own).
    const dense = '1234567890'.repeat(20);
    expect(dense.length).toBeLessThanOrEqual(MAX_TEXT_CHARS);
    expect(() => encodeText(tokenizer, dense)).toThrow(TextError);
    expect(encodeText(tokenizer, DEFAULT_TEXT).ids.length).toBeLessThanOrEqual(MAX_TEXT_TOKENS);
    expect(DEFAULT_TEXT.length).toBeLessThanOrEqual(MAX_TEXT_CHARS);
  });

  it('topNext gives the softmax of the highest logits, best first', () => {
    const logits: Tensor = { shape: [2, 4], data: Float32Array.from([0, 0, 0, 0, 1, 3, 2, Math.log(0.5)]) };
    const top = topNext(logits, 1, 2);
    const z = Math.exp(1) + Math.exp(3) + Math.exp(2) + 0.5;
    expect(top.map((t) => t.id)).toEqual([1, 2]);
    expect(top[0].p).toBeCloseTo(Math.exp(3) / z, 6);
    expect(top[1].p).toBeCloseTo(Math.exp(2) / z, 6);
  });
});

describe('en-hymba on a typed sentence: WebGPU engine vs CPU reference', async () => {
  const ck = await loadCheckpoint(folderFiles(path.join(import.meta.dirname, '..', 'models', 'en-hymba')));
  const { ids } = encodeText(tokenizer, SENTENCE);
  const cpu = new CpuEngine(ck);
  const taps = ['layers.*.attn.probs'];

  it('forward (the attention map’s call), with and without meta tokens: same logits and attention', async () => {
    const gpu = await WebGpuEngine.create(await nodeGpu(), ck);
    try {
      for (const meta of [true, false]) {
        const [g, c] = [await gpu.forward(ids, { meta, taps }), await cpu.forward(ids, { meta, taps })];
        const N = ids.length + (meta ? ck.config.numMetaTokens : 0);
        expect(c.logits.shape).toEqual([ids.length, ck.config.vocabSize]);
        expect(maxAbsDiff(g.logits, c.logits), `logits, meta ${meta}`).toBeLessThan(1e-3);
        for (const l of ck.config.layers) {
          const name = `layers.${l.index}.attn.probs`;
          const ct = c.taps.get(name)!;
          expect(ct.shape, name).toEqual([l.numHeads, N, N]);
          expect(maxAbsDiff(g.taps.get(name)!, ct), name).toBeLessThan(1e-4);
          // What the widget's bars draw agrees too (shares of <s>, the first real token, and of the meta tokens).
          const [gs, cs] = [
            attentionStats(g.taps.get(name)!, { numMeta: N - ids.length }),
            attentionStats(ct, { numMeta: N - ids.length }),
          ];
          for (let h = 0; h < cs.length; h++) {
            expect(gs[h].first).toBeCloseTo(cs[h].first, 4);
            expect(gs[h].meta).toBeCloseTo(cs[h].meta, 4);
          }
        }
      }
    } finally {
      gpu.dispose();
    }
  });

  it('steps (the stepper’s call): every op’s tensor matches the CPU reference', async () => {
    const gpu = await WebGpuEngine.create(await nodeGpu(), ck);
    try {
      const want = new Map<string, Tensor>();
      for await (const step of cpu.steps(ids, { taps: STEP_TAPS })) want.set(step.name, await step.read(step.name));
      let seen = 0;
      for await (const step of gpu.steps(ids, { taps: STEP_TAPS })) {
        const t = await step.read(step.name);
        expect(maxAbsDiff(t, want.get(step.name)!), step.name).toBeLessThan(step.name === 'logits' ? 1e-3 : 2e-4);
        seen++;
      }
      expect(seen).toBe(want.size);
      expect(want.has('logits')).toBe(true);
    } finally {
      gpu.dispose();
    }
  });
});
