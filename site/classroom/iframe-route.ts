// The client side of the iframe route /embed/<tag>/: build the widget from the query string, then keep the parent
// page told of its height.
//
// The query string is untrusted (anyone can write a link). Only a setting the widget declares in its schema
// (`static settings`) and `hide` pass, as attribute text the widget decodes through that schema (validated, clamped
// with a visible note, or its default), exactly as on a lesson page. Anything else (unknown keys, event handlers) is
// dropped. Nothing from the query is ever parsed as HTML.
import type { ReactiveElement } from 'lit';
import { attributeOf, type Schema } from '../lib/base/url-state.ts';
import { loadWidget } from './widget-tags.ts';

export const RESIZE_MESSAGE = 'hymba-lab:resize';

type WidgetClass = typeof ReactiveElement & { settings?: Schema };

/** Apply `?attribute=value…` to a widget not yet in the document. Returns the attributes it used. */
export function applyQuery(el: HTMLElement, cls: WidgetClass, search: string): string[] {
  const allowed = new Set(['hide', ...Object.keys(cls.settings ?? {}).map(attributeOf)]);
  const used: string[] = [];
  for (const [key, text] of new URLSearchParams(search)) {
    if (!allowed.has(key)) continue;
    el.setAttribute(key, text);
    used.push(key);
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
