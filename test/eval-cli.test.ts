// `npm run hymba -- eval --task NAME`, end to end: the real CLI entry point in a child process, on a shipped model.
import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { repoRoot } from './paths.ts';

function hymba(...args: string[]) {
  const r = spawnSync(process.execPath, ['--no-warnings', 'engine/cli/main.ts', 'eval', ...args], { cwd: repoRoot, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('eval --task', () => {
  test('copy --json: accuracy per level, and at the headline level by distance and by the order axis', () => {
    const r = hymba('--model', 'models/ssm', '--task', 'copy', '--levels', '8,16', '--n', '3', '--backend', 'cpu', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ task: { name: 'copy', seq_len: 128 }, level: 'tokens', distance_pairs: 16, n: 3 });
    expect(Object.keys(out.by_pairs)).toEqual(['8', '16']);
    const answers = (t: Record<string, { queries: number }>) => Object.values(t).reduce((s, v) => s + v.queries, 0);
    expect(answers(out.by_distance)).toBe(3 * 16);
    expect(Object.keys(out.by_axis.order)).toEqual(['1/4', '2/4', '3/4', '4/4']);
    expect(answers(out.by_axis.order)).toBe(3 * 16);
  });

  test('a task longer than the model’s positions, an unknown task and an impossible level are clear errors', () => {
    const long = hymba('--model', 'models/en-ssm', '--task', 'majority-512', '--backend', 'cpu');
    expect(long.code).toBe(2);
    expect(long.stderr).toContain('task majority-512 needs 512 positions; the model takes 256');
    const unknown = hymba('--model', 'models/ssm', '--task', 'parity', '--backend', 'cpu');
    expect(unknown.code).toBe(2); // bad usage, as an unknown flag
    expect(unknown.stderr).toMatch(
      /TaskError: unknown task "parity" \(tasks: mqar, copy, mqar-512, copy-512, majority-512, mix-512, majority-128, mix-128, mqar-256, copy-256, majority-256, mix-256\)/,
    );
    const level = hymba('--model', 'models/ssm', '--task', 'copy', '--levels', '80', '--n', '1', '--backend', 'cpu');
    expect(level.code).toBe(2);
    expect(level.stderr).toContain('copies 1..64 tokens, got 80');
  });
});
