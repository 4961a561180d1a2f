// Every CLI command with abusive arguments and inputs, through the real entry point in a child process: each gets one
// clear line naming the input and the limit, writes nothing, never a stack trace, and never overwrites an input.
// Exit codes: 2 for bad usage (an unknown command, flag, preset or task, a bad number, ids outside the vocabulary, a
// path that does not exist, an input file that cannot be read as such), 1 for a run that failed (a model that cannot
// be used, non-finite outputs, a diverged training run).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectedTensors, parseConfig } from '../engine/config.ts';
import { headerLength, parseHeader } from '../engine/checkpoint/safetensors.ts';
import { goldenDir, repoRoot, sharedDir } from './paths.ts';

const tokenizerDir = path.join(sharedDir, 'hymba-1.5b');

const golden = goldenDir('pub_b_m0_d32'); // vocabulary 64
const work = mkdtempSync(path.join(tmpdir(), 'hymba-abuse-'));
const at = (name: string) => path.join(work, name);

function hymba(...args: string[]) {
  const r = spawnSync(process.execPath, ['--no-warnings', 'engine/cli/main.ts', ...args], { cwd: repoRoot, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A copy of the golden model folder, with `edit` applied to the raw bytes of some tensors. */
function modelCopy(name: string, edit?: (tensor: string, view: DataView, count: number) => void): string {
  const dir = at(name);
  mkdirSync(dir);
  copyFileSync(path.join(golden, 'config.json'), path.join(dir, 'config.json'));
  const file = new Uint8Array(readFileSync(path.join(golden, 'model.safetensors')));
  const header = parseHeader('m', file.subarray(8, 8 + headerLength('m', file.subarray(0, 8), file.length)), file.length);
  for (const [tensor, e] of header.tensors) edit?.(tensor, new DataView(file.buffer, e.begin, e.end - e.begin), (e.end - e.begin) / 4);
  writeFileSync(path.join(dir, 'model.safetensors'), file);
  return dir;
}

/** A model folder whose one checkpoint file is 40 GB (sparse: only the header is written). */
function hugeModel(): { dir: string; file: string } {
  const dir = at('huge');
  mkdirSync(dir);
  const raw = { ...JSON.parse(readFileSync(path.join(golden, 'config.json'), 'utf8')), vocab_size: 312_500_000 };
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(raw));
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, shape] of expectedTensors(parseConfig(raw))) {
    const bytes = 4 * shape.reduce((a, b) => a * b, 1);
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  const file = path.join(dir, 'model.safetensors');
  writeFileSync(file, Buffer.concat([prefix, json]));
  truncateSync(file, 8 + json.length + offset);
  return { dir, file };
}

const TINY = {
  model_type: 'hymba',
  hidden_size: 16,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  intermediate_size: 16,
  vocab_size: 512,
  mamba_expand: 2,
  mamba_d_state: 4,
  mamba_dt_rank: 2,
  num_memory_tokens: 2,
  sliding_window: 8,
  global_attn_idx: [0],
  max_position_embeddings: 256,
  rope_type: 'default',
  tie_word_embeddings: true,
};

let model: string;
let overflow: string;
let huge: { dir: string; file: string };

beforeAll(() => {
  model = modelCopy('model');
  // Finite weights whose product overflows float32: the final norm's weights at 3e38.
  overflow = modelCopy('overflow', (tensor, view, n) => {
    if (tensor === 'model.final_layernorm.weight') for (let i = 0; i < n; i++) view.setFloat32(4 * i, 3e38, true);
  });
  huge = hugeModel();
  writeFileSync(at('notjson'), 'this is { not JSON');
  writeFileSync(at('tiny.json'), JSON.stringify(TINY));
  writeFileSync(at('bad-utf8.jsonl'), Buffer.concat([Buffer.from('[1,2]\n[3,'), Buffer.from([0xc3, 0x28]), Buffer.from(']\n')]));
  writeFileSync(at('line2001.jsonl'), '[1,5,9]\n'.repeat(2000) + '[1,64]\n');
  writeFileSync(at('prompts.jsonl'), '[1,5,9]\n[2,3]\n');
  writeFileSync(at('text.jsonl'), '"Hello"\n');
  mkdirSync(at('existing-model'));
  writeFileSync(at('existing-model/config.json'), '{}');
});

/** The command's first line of stderr (Dawn may print a line about the environment before it). */
const firstLine = (s: string) => s.split('\n').find((l) => l.startsWith('hymba')) ?? s;

/** [what, args, exit code, pattern for the first line of stderr] */
const usageCases: Array<[string, () => string[], number, RegExp]> = [
  ['a command named __proto__', () => ['__proto__'], 2, /^hymba: unknown command "__proto__" \(commands: /],
  ['a command named toString', () => ['toString'], 2, /^hymba: unknown command "toString"/],
  ['--preset __proto__', () => ['info', '--preset', '__proto__'], 2, /unknown preset "__proto__" \(presets: hymba-1\.5b/],
  ['--preset toString', () => ['cache', '--preset', 'toString', '--seq', '8'], 2, /unknown preset "toString"/],
  ['an unknown --preset', () => ['cache', '--preset', 'gpt-5', '--seq', '8'], 2, /unknown preset "gpt-5" \(presets: hymba-1\.5b/],
  ['no command at all', () => [], 2, /^usage: npm run hymba -- <command>/],
  ['a flag named --toString', () => ['info', '--toString', 'x'], 2, /^hymba info: unknown flag --toString$/],
  ['a flag named --__proto__', () => ['cache', '--__proto__', 'x'], 2, /unknown flag --__proto__$/],
  [
    '--ids 0x10',
    () => ['forward', '--model', model, '--ids', '0x10', '--out', at('o')],
    2,
    /--ids expects comma-separated integers \(decimal, ≥ 0\), got "0x10"/,
  ],
  ['--ids 1,,2', () => ['forward', '--model', model, '--ids', '1,,2', '--out', at('o')], 2, /got "1,,2" \(item 2: ""\)/],
  ['--ids 1e1', () => ['generate', '--model', model, '--ids', '1e1', '--max-new-tokens', '2', '--out', at('o')], 2, /integers \(decimal/],
  [
    '--ids 1,-3',
    () => ['generate', '--model', model, '--ids', '1,-3', '--max-new-tokens', '2', '--out', at('o')],
    2,
    /≥ 0\), got "1,-3" \(item 2/,
  ],
  [
    '--ids outside the vocabulary',
    () => ['forward', '--model', model, '--ids', '1,64', '--out', at('o')],
    2,
    /token id 64 at position 1 is outside the vocabulary 0\.\.63/,
  ],
  [
    'generate: --ids outside the vocabulary',
    () => ['generate', '--model', model, '--ids', '70', '--max-new-tokens', '1', '--out', at('o'), '--backend', 'cpu'],
    2,
    /token id 70 at position 0 is outside the vocabulary 0\.\.63/,
  ],
  [
    'a --model folder that does not exist',
    () => ['forward', '--model', at('no-such-model'), '--ids', '1', '--out', at('o')],
    2,
    /--model .*no-such-model: no such folder/,
  ],
  [
    'eval: an unknown --task',
    () => ['eval', '--model', model, '--task', 'parity', '--backend', 'cpu'],
    2,
    /unknown task "parity" \(tasks: mqar/,
  ],
  [
    'eval: a --levels the task cannot do',
    () => ['eval', '--model', 'models/ssm', '--task', 'copy', '--levels', '80', '--n', '1', '--backend', 'cpu'],
    2,
    /copies 1\.\.64 tokens, got 80/,
  ],
  ['bench --steps 1.5', () => ['bench', '--steps', '1.5'], 2, /--steps expects a decimal integer, got "1\.5"/],
  [
    '--max-new-tokens 0x2',
    () => ['generate', '--model', model, '--ids', '1', '--max-new-tokens', '0x2', '--out', at('o')],
    2,
    /--max-new-tokens expects a decimal integer, got "0x2"/,
  ],
  [
    '--max-new-tokens -1',
    () => ['generate', '--model', model, '--ids', '1', '--max-new-tokens', '-1', '--out', at('o')],
    2,
    /--max-new-tokens must be ≥ 1, got -1/,
  ],
  [
    '--seq with 20 digits',
    () => ['cache', '--preset', 'hymba-1.5b', '--seq', '99999999999999999999'],
    2,
    /--seq expects a decimal integer/,
  ],
  ['bench --steps 0', () => ['bench', '--steps', '0'], 2, /--steps must be ≥ 1, got 0/],
  ['bench --steps -5', () => ['bench', '--prompt', '4', '--steps', '-5'], 2, /--steps must be ≥ 1, got -5/],
  ['bench --prompt 0', () => ['bench', '--prompt', '0'], 2, /--prompt must be ≥ 1, got 0/],
  [
    'bench --prefill -4 (full size)',
    () => ['bench', '--preset', 'hymba-1.5b', '--layers', '1', '--prefill', '-4'],
    2,
    /--prefill expects comma-separated integers \(decimal, ≥ 1\), got "-4"/,
  ],
  [
    'bench --contexts 0',
    () => ['bench', '--preset', 'hymba-1.5b', '--layers', '1', '--contexts', '0,8'],
    2,
    /--contexts .* ≥ 1\), got "0,8" \(item 1/,
  ],
  ['eval --pairs 0', () => ['eval', '--model', model, '--pairs', '0', '--backend', 'cpu'], 2, /--pairs .* ≥ 1\), got "0"/],
  ['eval --n -1', () => ['eval', '--model', model, '--n', '-1', '--backend', 'cpu'], 2, /--n must be ≥ 1, got -1/],
  [
    'predict: invalid UTF-8',
    () => ['predict', '--model', model, '--in', at('bad-utf8.jsonl'), '--out', at('o'), '--backend', 'cpu'],
    2,
    /--in .*bad-utf8\.jsonl: not valid UTF-8 at byte 9 \(0xc3\)$/,
  ],
  [
    'predict: line 2,001 outside the vocabulary',
    () => ['predict', '--model', model, '--in', at('line2001.jsonl'), '--out', at('o'), '--backend', 'cpu'],
    2,
    /line2001\.jsonl:2001: token id 64 at position 1 is outside the vocabulary 0\.\.63$/,
  ],
  [
    'predict: no such --in file',
    () => ['predict', '--model', model, '--in', at('missing.jsonl'), '--out', at('o')],
    2,
    /--in .*missing\.jsonl: no such file$/,
  ],
  [
    'tokenize: invalid UTF-8',
    () => ['tokenize', '--tokenizer', tokenizerDir, '--in', at('bad-utf8.jsonl')],
    2,
    /not valid UTF-8 at byte 9/,
  ],
  [
    'train --config notjson',
    () => ['train', '--config', at('notjson'), '--steps', '1', '--batch', '1', '--seed', '0', '--out', at('t')],
    2,
    /^hymba train: --config .*notjson: not valid JSON \(/,
  ],
  [
    'train --config missing',
    () => ['train', '--config', at('nope.json'), '--steps', '1', '--batch', '1', '--seed', '0', '--out', at('t')],
    2,
    /--config .*nope\.json: no such file$/,
  ],
  [
    'train --batch 0x10',
    () => ['train', '--config', at('tiny.json'), '--steps', '1', '--batch', '0x10', '--seed', '0', '--out', at('t')],
    2,
    /--batch expects a decimal integer/,
  ],
  [
    'train: a huge --batch',
    () => ['train', '--config', at('tiny.json'), '--steps', '1', '--batch', '10000000', '--seed', '0', '--out', at('t')],
    2,
    /--batch 10000000 needs a [\d.]+ GB buffer, over this GPU's [\d.]+ GB storage-buffer limit: the largest batch for this model and task is \d+$/,
  ],
  [
    'train --out onto an existing folder without --force',
    () => ['train', '--config', at('tiny.json'), '--steps', '1', '--batch', '1', '--seed', '0', '--out', at('existing-model')],
    2,
    /--out .*existing-model already exists \(a model folder\?\); give --force to replace it$/,
  ],
];

describe('abusive arguments: one clear line, the right exit code, no stack', () => {
  it.each(usageCases)('%s', (_what, args, code, pattern) => {
    const r = hymba(...args());
    expect(firstLine(r.stderr)).toMatch(pattern);
    expect(r.code).toBe(code);
    expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace
    expect(existsSync(at('o'))).toBe(false);
    expect(existsSync(at('t'))).toBe(false);
  });
});

describe('models that cannot be used', () => {
  it('a 40 GB checkpoint: the file and its size, before anything is allocated', () => {
    const r = hymba('forward', '--model', huge.dir, '--ids', '1', '--out', at('o'), '--backend', 'cpu');
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(
      new RegExp(
        `^hymba forward: CheckpointError: ${huge.file}: holds 40\\.00 GB of tensors, more than the [\\d.]+ GB that may be loaded into memory here$`,
      ),
    );
  });

  it.each([
    ['forward', ['forward', '--ids', '1,5,9']],
    ['generate', ['generate', '--ids', '1,5,9', '--max-new-tokens', '2']],
    ['predict', ['predict', '--in', at('prompts.jsonl')]],
  ])('non-finite logits stop %s with exit 1 and write nothing', (_name, args) => {
    const r = hymba(...args, '--model', overflow, '--out', at('o'), '--backend', 'cpu');
    expect(r.stderr.trim()).toMatch(
      /^hymba \w+: NonFiniteOutputError: .*: \d+ of \d+ values are NaN or ±Inf \(the model overflowed\); nothing was written$/,
    );
    expect(r.code).toBe(1);
    expect(existsSync(at('o'))).toBe(false);
  });

  it('a training run whose loss becomes non-finite stops with exit 1 and writes no model', () => {
    const r = hymba(
      'train',
      '--config',
      at('tiny.json'),
      '--steps',
      '4',
      '--batch',
      '2',
      '--seed',
      '0',
      '--lr',
      '1e30',
      '--log-every',
      '1',
      '--out',
      at('t'),
    );
    expect(r.stderr).toMatch(/TrainError: the loss became (NaN|-?Infinity) at step \d: training diverged, so no model is written/);
    expect(r.code).toBe(1);
    expect(existsSync(at('t'))).toBe(false);
  });
});

describe('outputs never overwrite inputs, and are written whole', () => {
  it.each([
    [
      'forward --out MODEL/model.safetensors',
      () => ['forward', '--model', model, '--ids', '1,5', '--out', path.join(model, 'model.safetensors'), '--backend', 'cpu'],
    ],
    [
      'generate --out MODEL/config.json',
      () => [
        'generate',
        '--model',
        model,
        '--ids',
        '1',
        '--max-new-tokens',
        '1',
        '--out',
        path.join(model, 'config.json'),
        '--backend',
        'cpu',
      ],
    ],
    [
      'predict --out = --in',
      () => ['predict', '--model', model, '--in', at('prompts.jsonl'), '--out', at('prompts.jsonl'), '--backend', 'cpu'],
    ],
    [
      'predict --out MODEL/./model.safetensors',
      () => ['predict', '--model', model, '--in', at('prompts.jsonl'), '--out', `${model}/./model.safetensors`, '--backend', 'cpu'],
    ],
    ['tokenize --out = --in', () => ['tokenize', '--tokenizer', tokenizerDir, '--in', at('text.jsonl'), '--out', at('text.jsonl')]],
  ])('%s is refused and the input is unchanged', (_what, args) => {
    const before = [
      readFileSync(path.join(model, 'model.safetensors')),
      readFileSync(path.join(model, 'config.json')),
      readFileSync(at('prompts.jsonl')),
      readFileSync(at('text.jsonl')),
    ];
    const r = hymba(...args());
    expect(firstLine(r.stderr)).toMatch(/--out .* is an input of this command \(.*\); write the output elsewhere$/);
    expect(r.code).toBe(2);
    const after = [
      readFileSync(path.join(model, 'model.safetensors')),
      readFileSync(path.join(model, 'config.json')),
      readFileSync(at('prompts.jsonl')),
      readFileSync(at('text.jsonl')),
    ];
    after.forEach((b, i) => expect(b.equals(before[i])).toBe(true));
  });

  it('forward writes its output whole, with no temp file left beside it', () => {
    const out = at('fwd/out.safetensors');
    mkdirSync(at('fwd'));
    const r = hymba('forward', '--model', model, '--ids', '1,5', '--out', out, '--backend', 'cpu');
    expect(r.code).toBe(0);
    expect(readFileSync(out).length).toBeGreaterThan(1000);
    expect(readdir(at('fwd'))).toEqual(['out.safetensors']);
  });
});

function readdir(dir: string): string[] {
  return spawnSync('ls', ['-A', dir], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
}
