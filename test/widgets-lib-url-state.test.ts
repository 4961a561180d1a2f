// The URL state codec: property tests (fast-check) that valid states round-trip and that arbitrary query strings
// never throw and decode only to values the schema allows.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodeField,
  encodeField,
  isValid,
  readState,
  settingNote,
  writeState,
  type Field,
  type Schema,
} from '../site/lib/base/url-state.ts';

const schema = {
  window: { kind: 'number', default: 8, min: 1, max: 64, int: true },
  scale: { kind: 'number', default: 0.5, min: -2, max: 1e6 },
  rule: { kind: 'enum', default: 'hf', values: ['hf', 'prefill'] },
  meta: { kind: 'boolean', default: true },
  model: { kind: 'string', default: 'hymba', maxLength: 12, pattern: /^[a-z0-9-]*$/ },
  note: { kind: 'string', default: '', maxLength: 30 },
  layers: { kind: 'int-list', default: [0, 15], min: 0, max: 31, maxItems: 5 },
} satisfies Schema;

/** A value the field allows. */
function validValue(f: Field): fc.Arbitrary<unknown> {
  switch (f.kind) {
    case 'number':
      return f.int ? fc.integer({ min: f.min, max: f.max }) : fc.double({ min: f.min, max: f.max, noNaN: true }).map((x) => x + 0);
    case 'enum':
      return fc.constantFrom(...f.values);
    case 'boolean':
      return fc.boolean();
    case 'string':
      return f.pattern
        ? fc.stringMatching(/^[a-z0-9-]{0,12}$/)
        : fc.string({ maxLength: f.maxLength, unit: 'grapheme' }).filter((s) => s.length <= f.maxLength);
    case 'int-list':
      return fc.array(fc.integer({ min: f.min, max: f.max }), { maxLength: f.maxItems });
  }
}

const validState = fc.record(Object.fromEntries(Object.entries(schema).map(([k, f]) => [k, validValue(f)])));

describe('url-state', () => {
  it('round-trips every valid state, also among other widgets and unrelated keys', () => {
    fc.assert(
      fc.property(validState, validState, (a, b) => {
        let search = '?utm=1&x.y=%3Cb%3E';
        search = writeState(schema, search, 'mask', a);
        search = writeState(schema, search, 'meter', b);
        expect(readState(schema, search, 'mask')).toEqual(a);
        expect(readState(schema, search, 'meter')).toEqual(b);
        const params = new URLSearchParams(search);
        expect(params.get('utm')).toBe('1');
        expect(params.get('x.y')).toBe('<b>');
      }),
    );
  });

  it('leaves settings equal to the baseline out of the link', () => {
    const search = writeState(schema, '', 'mask', { window: 8, rule: 'prefill', meta: true }, { window: 8, rule: 'hf', meta: true });
    expect(search).toBe('?mask.rule=prefill');
    expect(writeState(schema, search, 'mask', { rule: 'hf' }, { rule: 'hf' })).toBe('');
  });

  it('never throws on arbitrary query strings and decodes only schema-valid values', () => {
    const hostileText = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.constantFrom(
        '',
        'NaN',
        'Infinity',
        '-0',
        '1e999',
        '0x10',
        ' 3',
        '3 ',
        '1,2,,3',
        '<script>alert(1)</script>',
        '%E0%A4%A',
        '__proto__',
        'true',
        '1',
      ),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...Object.keys(schema), 'zzz', '__proto__'), hostileText)),
        fc.string({ unit: 'binary' }),
        (pairs, junk) => {
          const search = '?' + pairs.map(([k, v]) => `mask.${k}=${v}`).join('&') + '&' + junk;
          const state = readState(schema, search, 'mask');
          for (const [k, v] of Object.entries(state)) expect(isValid((schema as Schema)[k], v), `${k} = ${JSON.stringify(v)}`).toBe(true);
          expect(Object.keys(state).every((k) => k in schema)).toBe(true);
        },
      ),
    );
  });

  it('clamps numbers and refuses text that is not a plain number, a listed value or a pattern match', () => {
    const w = schema.window;
    expect(decodeField(w, '1000')).toBe(64);
    expect(decodeField(w, '-5')).toBe(1);
    expect(decodeField(w, '7.6')).toBe(8);
    for (const bad of ['', ' 3', '0x10', 'Infinity', '1e999', 'NaN', '3px']) expect(decodeField(w, bad)).toBe(8);
    expect(decodeField(schema.scale, '-0')).toBe(0);
    expect(Object.is(decodeField(schema.scale, '-0'), -0)).toBe(false);
    expect(decodeField(schema.rule, 'HF')).toBe('hf');
    expect(decodeField(schema.model, '../evil')).toBe('hymba');
    expect(decodeField(schema.model, 'a'.repeat(13))).toBe('hymba');
    expect(decodeField(schema.layers, '3,99,-1')).toEqual([3, 31, 0]);
    expect(decodeField(schema.layers, '1,2,3,4,5,6')).toEqual([0, 15]);
    expect(decodeField(schema.layers, '1,,2')).toEqual([0, 15]);
    expect(decodeField(schema.meta, 'yes')).toBe(true);
    expect(encodeField(schema.meta, false)).toBe('0');
  });

  it('rounds a stepped number to the nearest multiple inside its limits, and says so', () => {
    const even: Field = { kind: 'number', default: 128, min: 16, max: 255, step: 2 };
    expect(decodeField(even, '101')).toBe(102);
    expect(decodeField(even, '100000')).toBe(254); // the largest multiple within max, not max itself
    expect(decodeField(even, '3')).toBe(16);
    expect([isValid(even, 102), isValid(even, 101), isValid(even, 256)]).toEqual([true, false, false]);
    expect(settingNote('seqLen', even, '101', decodeField(even, '101'))).toBe('seqLen rounded to 102 (asked 101)');
  });
});
