// The client side of the iframe route /embed/<tag>/: build the widget from the query string, then keep the parent
// page told of its height.
//
// The query string is untrusted (anyone can write a link). A setting the widget keeps in the URL codec (its
// urlSchema) is decoded by it: validated, clamped, or its default. Other attributes (hide, or a widget without a
// schema) are set as attribute text, which the widget parses like any attribute of a lesson page. Nothing from the
// query is ever parsed as HTML.
import type { ReactiveElement } from 'lit';
import { decodeField, type Schema } from '../lib/base/url-state.ts';
import { attributeName } from '../lib/base/embed-snippet.ts';
import { loadWidget } from './widget-tags.ts';

export const RESIZE_MESSAGE = 'hymba-lab:resize';

type WidgetClass = typeof ReactiveElement & { urlSchema?: Schema };

/** Apply `?attribute=value…` to a widget not yet in the document. Returns the attributes it used. */
export function applyQuery(el: HTMLElement, cls: WidgetClass, search: string): string[] {
  const used: string[] = [];
  const self = el as unknown as Record<string, unknown>;
  for (const [key, text] of new URLSearchParams(search)) {
    for (const [property, options] of cls.elementProperties) {
      if (attributeName(String(property), options) !== key || key === 'status') continue;
      const field = cls.urlSchema?.[String(property)];
      if (field) self[String(property)] = decodeField(field, text);
      else el.setAttribute(key, text);
      used.push(key);
    }
  }
  return used;
}

async function main(): Promise<void> {
  const holder = document.querySelector<HTMLElement>('.embedded');
  if (!holder) return;
  const tag = holder.dataset.widget ?? '';
  const cls = (await loadWidget(tag)) as unknown as WidgetClass;
  const el = document.createElement(tag);
  applyQuery(el, cls, location.search);
  const params = new URLSearchParams(location.search);
  const experiment = params.get('experiment');
  const heading = document.querySelector<HTMLElement>('.experiment');
  if (experiment && heading) {
    heading.textContent = experiment.slice(0, 200);
    heading.hidden = false;
  }
  holder.append(el);
  reportHeight(tag);
}

/** Post the document's height to the parent whenever it changes (hosts size the iframe from it). */
function reportHeight(tag: string): void {
  if (window.parent === window) return;
  let last = -1;
  const post = () => {
    const height = Math.ceil(document.body.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    window.parent.postMessage({ type: RESIZE_MESSAGE, widget: tag, height }, '*');
  };
  new ResizeObserver(post).observe(document.body);
  post();
}

void main();
