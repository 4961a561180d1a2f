// Build-time reading of lesson sources (MDX text) for the classroom pages: which widgets a lesson uses, with which
// attributes, and its "Try this" questions. Plain text processing, no DOM: it runs in Astro's build.
//
// The teacher's convention: a widget tag with an `experiment="…"` attribute is an experiment. /teach/ lists it as a
// link to the iframe route with the tag's attributes (its settings, and `hide=` for the controls the teacher hides).

export type Attributes = [string, string | null][];

export interface WidgetUse {
  tag: string;
  attributes: Attributes;
  /** The experiment's title (`experiment="…"`), or null for a plain figure. */
  experiment: string | null;
}

const TAG = /<(hymba-[a-z0-9-]+)((?:\s+[A-Za-z][\w:-]*(?:\s*=\s*(?:"[^"]*"|'[^']*'))?)*)\s*\/?>/g;
const ATTRIBUTE = /([A-Za-z][\w:-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'))?/g;

/** Every widget tag in a lesson, in order. */
export function widgetUses(source: string): WidgetUse[] {
  const uses: WidgetUse[] = [];
  for (const m of withoutCode(source).matchAll(TAG)) {
    const attributes: Attributes = [];
    for (const a of m[2].matchAll(ATTRIBUTE)) attributes.push([a[1], a[2] ?? a[3] ?? null]);
    const experiment = attributes.find(([k]) => k === 'experiment')?.[1] ?? null;
    uses.push({ tag: m[1], attributes, experiment });
  }
  return uses;
}

/** Fenced code blocks and inline code blanked out, so a tag shown as code is not a figure. */
function withoutCode(source: string): string {
  return source.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
}

/** The items of the lesson's "## Try this" list, as plain text (Markdown emphasis and code marks removed). */
export function tryThis(source: string): string[] {
  const section = /^##\s+Try this\s*$([\s\S]*?)(?=^#{1,2}\s|(?![\s\S]))/m.exec(source);
  if (!section) return [];
  const items: string[] = [];
  for (const line of section[1].split('\n')) {
    const start = /^\s{0,2}(?:[-*]|\d+\.)\s+(.*)$/.exec(line);
    if (start) items.push(start[1]);
    else if (items.length && /^\s+\S/.test(line)) items[items.length - 1] += ` ${line.trim()}`;
  }
  return items.map(plainText);
}

export function plainText(markdown: string): string {
  return markdown
    .replace(/\*\*([^*]+)\*\*/g, '$1')
    .replace(/_([^_]+)_/g, '$1')
    .replace(/`([^`]+)`/g, '$1')
    .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1');
}

/** The iframe route for one use: /embed/<tag>/?<its attributes> (id, experiment kept out: they are not settings). */
export function experimentHref(use: WidgetUse, opts: { showControls?: boolean } = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of use.attributes) {
    if (k === 'id' || (opts.showControls && k === 'hide')) continue;
    params.append(k, v ?? '1');
  }
  const query = params.toString();
  return `/embed/${use.tag}/${query ? `?${query}` : ''}`;
}

const escapeAttribute = (s: string): string => s.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;');

/** The tag as HTML, for rendering a live example at build time; attribute values escaped, `id` optional. */
export function useHtml(use: WidgetUse, opts: { keepId?: boolean } = {}): string {
  const attrs = use.attributes
    .filter(([k]) => opts.keepId || k !== 'id')
    .map(([k, v]) => (v === null ? ` ${k}` : ` ${k}="${escapeAttribute(v)}"`))
    .join('');
  return `<${use.tag}${attrs}></${use.tag}>`;
}
