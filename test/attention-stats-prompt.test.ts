// The MQAR token labels the stepper and the attention map share: labels keep the id, keys and values are checked
// against the task's ranges (keys 1..V/2−1, values V/2..V−1, blank 0), and bad text gets a PromptError naming it.
import { describe, expect, it } from 'vitest';
import { DEFAULT_PROMPT, PromptError, formatPrompt, parsePrompt, sequenceLabels, tokenLabel } from '../site/lib/content/stepper-tokens.ts';

describe('MQAR prompt labels', () => {
  it('names ids by the task ranges of a 512-token vocabulary', () => {
    expect([0, 1, 17, 255, 256, 301, 511].map((id) => tokenLabel(id, 512))).toEqual(['_', 'k1', 'k17', 'k255', 'v256', 'v301', 'v511']);
    expect(sequenceLabels([17, 301], 2, 512)).toEqual(['m0', 'm1', 'k17', 'v301']);
  });

  it('parses labels and plain ids to the same ids, and round-trips the default prompt', () => {
    expect(parsePrompt('k17 v301 _ 42, 300', 512)).toEqual([17, 301, 0, 42, 300]);
    const ids = parsePrompt(DEFAULT_PROMPT, 512);
    expect(ids).toHaveLength(19);
    expect(formatPrompt(ids, 512)).toBe(DEFAULT_PROMPT);
  });

  it('refuses a key label on a value id, a value label on a key id, out-of-vocabulary ids and junk', () => {
    expect(() => parsePrompt('k300', 512)).toThrow(PromptError);
    expect(() => parsePrompt('k300', 512)).toThrow(/token 1 \(“k300”\): keys are k1 … k255/);
    expect(() => parsePrompt('k17 v17', 512)).toThrow(/token 2 .*values are v256 … v511/);
    expect(() => parsePrompt('600', 512)).toThrow(/ids go from 0 to 511/);
    expect(() => parsePrompt('hello', 512)).toThrow(/not a token/);
    expect(() => parsePrompt('  ', 512)).toThrow(/empty/);
  });
});
