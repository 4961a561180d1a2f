// Exporting what a widget shows: charts as SVG or PNG, data as CSV or JSON. Readers asked the anchors for exactly
// this (bertviz #13/#33, TF Playground #39), so every widget offers it from day one.
//
// The serialisers are plain functions over data (and over a minimal DOM-like tree for SVG), testable in Node; only
// download() and the PNG path need a browser.

export type Row = Record<string, unknown>;

/** One CSV cell per RFC 4180: quoted when it holds a comma, a quote or a line break; quotes doubled. */
export function csvCell(value: unknown): string {
  let s: string;
  if (value === null || value === undefined) s = '';
  else if (typeof value === 'number') s = Number.isFinite(value) ? String(value) : '';
  else if (typeof value === 'object') s = JSON.stringify(value);
  else s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Rows as CSV with a header line; `columns` fixes the order (default: the keys of all rows, first seen first). */
export function toCsv(rows: readonly Row[], columns?: readonly string[]): string {
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const lines = [cols.map(csvCell).join(',')];
  for (const r of rows) lines.push(cols.map((c) => csvCell(r[c])).join(','));
  return lines.join('\r\n') + '\r\n';
}

/** Data as pretty JSON: typed arrays become arrays, non-finite numbers become null (JSON has no NaN). */
export function toJson(data: unknown): string {
  return JSON.stringify(
    data,
    (_key, v: unknown) => {
      if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
      if (v instanceof Map) return Object.fromEntries(v);
      return v;
    },
    2,
  );
}

// --- SVG -------------------------------------------------------------------------------------------------------

/** The part of a DOM node the SVG serialiser reads (a real Element or a test double). */
export interface SvgNodeLike {
  nodeType: number; // 1 element, 3 text
  nodeName: string;
  textContent: string | null;
  attributes?: ArrayLike<{ name: string; value: string }>;
  childNodes: ArrayLike<SvgNodeLike>;
}

/** Presentation properties worth inlining: an exported SVG has no stylesheet and no CSS custom properties. */
const INLINED_STYLES = [
  'fill',
  'fill-opacity',
  'stroke',
  'stroke-width',
  'stroke-opacity',
  'stroke-dasharray',
  'opacity',
  'font-family',
  'font-size',
  'font-weight',
  'text-anchor',
  'dominant-baseline',
] as const;

const escapeText = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
const escapeAttr = (s: string) => escapeText(s).replaceAll('"', '&quot;');

/**
 * A standalone SVG document. `styleOf(el)` gives the computed presentation properties of an element (in a browser:
 * getComputedStyle); they are written into its `style` attribute, so colours from CSS variables survive the export.
 */
export function serializeSvg(root: SvgNodeLike, styleOf: (el: SvgNodeLike) => Record<string, string> = () => ({})): string {
  const out: string[] = [];
  const walk = (n: SvgNodeLike, isRoot: boolean) => {
    if (n.nodeType === 3) {
      out.push(escapeText(n.textContent ?? ''));
      return;
    }
    if (n.nodeType !== 1) return;
    const tag = n.nodeName;
    const attrs = new Map<string, string>();
    for (const a of Array.from(n.attributes ?? [])) {
      if (/^on/i.test(a.name)) continue; // an exported file never carries script handlers
      attrs.set(a.name, a.value);
    }
    if (isRoot) {
      attrs.set('xmlns', 'http://www.w3.org/2000/svg');
      attrs.delete('class');
    }
    const style = Object.entries(styleOf(n))
      .filter(([, v]) => v !== '')
      .map(([k, v]) => `${k}:${v}`)
      .join(';');
    if (style) attrs.set('style', [attrs.get('style'), style].filter(Boolean).join(';'));
    out.push(`<${tag}`);
    for (const [k, v] of attrs) out.push(` ${k}="${escapeAttr(v)}"`);
    const kids = Array.from(n.childNodes);
    if (kids.length === 0) {
      out.push('/>');
      return;
    }
    out.push('>');
    for (const k of kids) walk(k, false);
    out.push(`</${tag}>`);
  };
  walk(root, true);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${out.join('')}\n`;
}

/** Computed presentation styles of a live SVG element (browser only). */
function computedSvgStyle(el: SvgNodeLike): Record<string, string> {
  const style = getComputedStyle(el as unknown as Element);
  const out: Record<string, string> = {};
  for (const p of INLINED_STYLES) out[p] = style.getPropertyValue(p);
  return out;
}

/** A live <svg> as a standalone SVG file's text, with its computed styles inlined. */
export function svgText(svg: SVGSVGElement): string {
  return serializeSvg(svg, computedSvgStyle);
}

/**
 * The chart's own <svg> inside what a chart library returned: Observable Plot gives an <svg>, or a <figure> holding
 * legends and the plot's <svg> as a direct child.
 */
export function chartSvg(el: Element | null): SVGSVGElement | null {
  if (!el) return null;
  if (el instanceof SVGSVGElement) return el;
  return el.querySelector(':scope > svg');
}

/** Rasterise an <svg> to PNG at `scale`× its on-screen size, on an opaque background. */
export async function svgToPng(svg: SVGSVGElement, scale = 2, background = '#ffffff'): Promise<Blob> {
  const box = svg.getBoundingClientRect();
  const width = Math.max(1, Math.round(box.width));
  const height = Math.max(1, Math.round(box.height));
  const url = URL.createObjectURL(new Blob([svgText(svg)], { type: 'image/svg+xml' }));
  try {
    const img = new Image(width, height);
    img.src = url;
    await img.decode();
    return canvasToPng(width, height, scale, background, (ctx) => ctx.drawImage(img, 0, 0, width, height));
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** A <canvas> chart (heat maps) as PNG. */
function canvasPng(canvas: HTMLCanvasElement): Promise<Blob> {
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the canvas could not be encoded as PNG'))), 'image/png'),
  );
}

async function canvasToPng(
  width: number,
  height: number,
  scale: number,
  background: string,
  draw: (ctx: CanvasRenderingContext2D) => void,
): Promise<Blob> {
  const canvas = document.createElement('canvas');
  canvas.width = width * scale;
  canvas.height = height * scale;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas context to draw the PNG');
  ctx.fillStyle = background;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.scale(scale, scale);
  draw(ctx);
  return canvasPng(canvas);
}

/** Hand a file to the reader (browser only). */
export function download(filename: string, content: Blob | string, type = 'text/plain'): void {
  const blob = typeof content === 'string' ? new Blob([content], { type }) : content;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A safe file name stem from a widget id or title. */
export function fileStem(s: string): string {
  return (
    s
      .replace(/[^A-Za-z0-9_-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'hymba-lab'
  );
}
