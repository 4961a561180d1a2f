// Export serialisers: CSV quoting (RFC 4180), JSON of typed arrays and non-finite numbers, SVG with inlined styles.
import { describe, expect, it } from 'vitest';
import { csvCell, fileStem, serializeSvg, toCsv, toJson, type SvgNodeLike } from '../site/lib/base/export.ts';

/** A minimal RFC 4180 reader, written independently of the writer, to check that quoting round-trips. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += ch;
  }
  return rows;
}

const el = (nodeName: string, attrs: Record<string, string>, ...childNodes: SvgNodeLike[]): SvgNodeLike => ({
  nodeType: 1,
  nodeName,
  textContent: null,
  attributes: Object.entries(attrs).map(([name, value]) => ({ name, value })),
  childNodes,
});
const text = (t: string): SvgNodeLike => ({ nodeType: 3, nodeName: '#text', textContent: t, childNodes: [] });

describe('CSV', () => {
  it('quotes commas, quotes and line breaks, and nothing else', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell(1.5)).toBe('1.5');
    expect(csvCell(NaN)).toBe('');
    expect(csvCell(null)).toBe('');
    expect(csvCell(true)).toBe('true');
  });

  it('writes a header and rows that a CSV reader reads back to the same cells', () => {
    const rows = [
      { layer: 0, kind: 'global', why: 'meta token, "always"' },
      { layer: 1, kind: 'swa\r\nwindow', extra: 'x' },
    ];
    const csv = toCsv(rows);
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(parseCsv(csv)).toEqual([
      ['layer', 'kind', 'why', 'extra'],
      ['0', 'global', 'meta token, "always"', ''],
      ['1', 'swa\r\nwindow', '', 'x'],
    ]);
    expect(parseCsv(toCsv(rows, ['kind', 'layer']))[0]).toEqual(['kind', 'layer']);
  });
});

describe('JSON', () => {
  it('writes typed arrays as arrays, maps as objects and non-finite numbers as null', () => {
    const out = JSON.parse(
      toJson({ v: new Float32Array([1, 0.5]), ids: new Uint8Array([3]), m: new Map([['a', 1]]), bad: [NaN, Infinity] }),
    );
    expect(out).toEqual({ v: [1, 0.5], ids: [3], m: { a: 1 }, bad: [null, null] });
  });
});

describe('SVG', () => {
  it('is a standalone document: namespace, escaped text and attributes, inlined styles, no script handlers', () => {
    const svg = el(
      'svg',
      { class: 'plot', viewBox: '0 0 10 10', onload: 'alert(1)' },
      el('rect', { width: '5', height: '5', style: 'opacity:1' }),
      el('text', { 'aria-label': 'a "quote" & <tag>' }, text('x < y & z')),
    );
    const out = serializeSvg(svg, (n): Record<string, string> => (n.nodeName === 'rect' ? { fill: 'rgb(0, 114, 178)', stroke: '' } : {}));
    expect(out.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg viewBox="0 0 10 10" xmlns="http://www.w3.org/2000/svg">')).toBe(
      true,
    );
    expect(out).toContain('<rect width="5" height="5" style="opacity:1;fill:rgb(0, 114, 178)"/>');
    expect(out).toContain('<text aria-label="a &quot;quote&quot; &amp; &lt;tag&gt;">x &lt; y &amp; z</text>');
    expect(out).not.toContain('onload');
    expect(out).not.toContain('class=');
  });

  it('makes safe file names', () => {
    expect(fileStem('cache meter/../x')).toBe('cache-meter-x');
    expect(fileStem('???')).toBe('hymba-lab');
  });
});
