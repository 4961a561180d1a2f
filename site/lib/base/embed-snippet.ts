// "Embed this": the code that puts a widget, with the settings it has now, into another page (Observable's embed
// model: one script, one named element, its inputs as attributes). Two forms:
//  - a script tag + the element, for pages that run scripts (the bundle is one ES module: dist/embed/hymba-lab.js);
//  - an iframe of the /embed/<tag>/ route, for hosts that only allow iframes (settings in the query string).
// Both are built from the element's Lit properties, so every widget gets them without writing any code.
import { defaultConverter, type PropertyDeclaration, type ReactiveElement } from 'lit';
import { assetUrl } from '../page/asset-base.ts';

/** Attributes that describe the element's state, not its settings: never part of a snippet. */
const NOT_SETTINGS = new Set(['status', 'id', 'class', 'style', 'experiment']);

/** [attribute, value] pairs; value null = a bare boolean attribute. */
export type Attributes = [string, string | null][];

/** The attribute name Lit uses for a property (its `attribute` option, else the lower-cased property name). */
export function attributeName(property: string, options: PropertyDeclaration): string | null {
  if (options.attribute === false || options.state) return null;
  return typeof options.attribute === 'string' ? options.attribute : property.toLowerCase();
}

/** What an attribute holding `value` would read (undefined: no attribute). */
function attributeText(value: unknown, options: PropertyDeclaration): string | null | undefined {
  const converter = options.converter;
  const toAttribute =
    converter && typeof converter === 'object' && converter.toAttribute ? converter.toAttribute : defaultConverter.toAttribute!;
  const text = toAttribute(value, options.type) as unknown;
  if (text === null || text === undefined) return undefined;
  return String(text);
}

/**
 * The element's settings as attributes: every attribute-backed property whose value differs from a fresh element's
 * (so a snippet carries what the author or reader chose, not every default).
 */
export function currentAttributes(el: ReactiveElement): Attributes {
  const cls = el.constructor as typeof ReactiveElement;
  const fresh = document.createElement(el.localName) as unknown as Record<string, unknown>;
  const self = el as unknown as Record<string, unknown>;
  const out: Attributes = [];
  for (const [property, options] of cls.elementProperties) {
    const name = attributeName(String(property), options);
    if (!name || NOT_SETTINGS.has(name)) continue;
    const now = attributeText(self[property as string], options);
    if (now === undefined || now === attributeText(fresh[property as string], options)) continue;
    // A boolean Lit property is true when the attribute is present, whatever its text.
    out.push([name, options.type === Boolean ? null : now]);
  }
  return out;
}

const escapeAttribute = (s: string): string => s.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;');

/** `<tag a="1" b>` + `</tag>` */
function elementHtml(tag: string, attributes: Attributes): string {
  const attrs = attributes.map(([k, v]) => (v === null ? ` ${k}` : ` ${k}="${escapeAttribute(v)}"`)).join('');
  return `<${tag}${attrs}></${tag}>`;
}

/** The iframe route's URL: /embed/<tag>/?<attribute>=<value>… (a bare boolean attribute is "=1"). */
function iframeUrl(tag: string, attributes: Attributes): string {
  const query = new URLSearchParams(attributes.map(([k, v]) => [k, v ?? '1'])).toString();
  return assetUrl(`embed/${tag}/`) + (query ? `?${query}` : '');
}

export interface Snippets {
  script: string;
  iframe: string;
}

export function embedSnippets(tag: string, attributes: Attributes): Snippets {
  return {
    script: `<script type="module" src="${escapeAttribute(assetUrl('embed/hymba-lab.js'))}"></script>\n${elementHtml(tag, attributes)}`,
    iframe: `<iframe src="${escapeAttribute(iframeUrl(tag, attributes))}" title="Hymba Lab: ${tag}" width="100%" height="480" style="border:0" loading="lazy"></iframe>`,
  };
}
