// "Show code" snippets run in Node from the repository root and print the numbers the widgets show.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cacheMeterSnippet, maskViewSnippet } from '../site/lib/content/snippets.ts';
import { repoRoot } from './paths.ts';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'hymba-snippet-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Run a snippet as the panel says (imports relative to the repository root), return its stdout. */
function runSnippet(code: string, name: string): string {
  const file = path.join(scratch, `${name}.ts`);
  writeFileSync(file, code.replaceAll("from './", `from '${repoRoot}/`));
  const r = spawnSync(process.execPath, ['--no-warnings', file], { cwd: repoRoot, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}

describe('snippets', () => {
  it("the cache meter's snippet prints the paper's 78.60 MB vs 917.5 MB (11.67×) and the per-layer table", () => {
    const out = runSnippet(
      cacheMeterSnippet({
        preset: 'hymba-1.5b',
        compare: 'llama-3.2-3b',
        seq: 8000,
        dtype: 'f16',
        windowRule: 'hf',
        convention: 'paper',
        tokens: 300,
        window: 1024,
        liveModel: '',
        bos: 1,
      }),
      'meter',
    );
    expect(out).toContain('78.60 MB vs 917.5 MB: 11.67×');
    expect(out).toContain('global'); // console.table of the layers
  });

  it("the mask view's snippet counts the visible pairs of a windowed layer", () => {
    const out = runSnippet(maskViewSnippet({ model: '', preset: 'hymba-1.5b', layer: 1, meta: 4, tokens: 24, window: 6 }), 'mask');
    // 4 meta rows see 10 pairs; text row i sees 4 meta + min(i, 6) + 1 text keys: 96 + 28 + 17·7 = 243.
    expect(out.trim()).toBe('visible query–key pairs: 253');
  });
});
