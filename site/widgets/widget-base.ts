// The contract every <hymba-*> widget follows.
//
// - Settings come from attributes (Lit `@property`), so a widget is configured the same way in a lesson, in an
//   embed on another site, and in a test.
// - The widget reflects its state in a `status` attribute: loading → running → ready, or error. Tests and lesson
//   scripts wait on it (`hymba-x[status=ready]`).
// - On error it shows a human-readable message inside its own box (e.g. "WebGPU is not available here …"), never a
//   blank box.
// - All widgets on a page share one GPU device (getPageGpu), as a page has one GPU and devices are expensive.
import { LitElement, css, html, type CSSResultGroup, type PropertyValues, type TemplateResult } from 'lit';
import { property, state } from 'lit/decorators.js';
import { acquireDevice, type GpuContext } from '../../engine/webgpu/device.ts';

export type WidgetStatus = 'loading' | 'running' | 'ready' | 'error';

let pageGpu: Promise<GpuContext> | undefined;

/** The page's one GPU context, acquired on first use. If the device is lost, the next call acquires a new one. */
export function getPageGpu(): Promise<GpuContext> {
  if (!pageGpu) {
    const acquiring = acquireDevice(navigator.gpu);
    pageGpu = acquiring;
    acquiring.then(
      (ctx) => ctx.lost.then(() => (pageGpu === acquiring ? (pageGpu = undefined) : undefined)),
      () => (pageGpu === acquiring ? (pageGpu = undefined) : undefined), // let a later widget retry
    );
  }
  return pageGpu;
}

/** Register a custom element once: the site bundle and an embed bundle may both load on one page. */
export function define(name: string, cls: CustomElementConstructor): void {
  if (!customElements.get(name)) customElements.define(name, cls);
}

/** A readable one-paragraph description of a failure, for the reader rather than the console. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

export abstract class HymbaWidget extends LitElement {
  static override styles: CSSResultGroup = css`
    :host {
      display: block;
      margin: 1.5rem 0;
      padding: 1rem;
      border: 1px solid var(--hl-border, #d0d4da);
      border-radius: 8px;
      background: var(--hl-widget-bg, transparent);
      color: inherit;
      min-height: 4rem;
    }
    .status-line {
      font-size: 0.85rem;
      color: var(--hl-muted, #5f6670);
    }
    .error {
      border-left: 4px solid var(--hl-error, #c62828);
      padding: 0.5rem 0.75rem;
      background: var(--hl-error-bg, #fdecea);
      color: var(--hl-error-fg, #5f1111);
    }
    .error strong {
      display: block;
      margin-bottom: 0.25rem;
    }
  `;

  @property({ reflect: true }) status: WidgetStatus = 'loading';
  /** The failure shown to the reader when status is `error`. */
  @state() errorMessage = '';

  /** Increments per run, so a slow stale run cannot overwrite a newer one's result or status. */
  private generation = 0;

  /** The widget's body when it is not in error. */
  protected abstract renderBody(): TemplateResult;

  /** The work: compute and store results on `this`. Called after the first render and when settings change. */
  protected abstract compute(): Promise<void>;

  /** Whether these changes re-run compute(); by default a change of any setting (a `@property` other than status, not a `@state`). */
  protected shouldRecompute(changed: PropertyValues<this>): boolean {
    const declared = (this.constructor as typeof HymbaWidget).elementProperties;
    return [...changed.keys()].some((key) => key !== 'status' && !declared.get(key)?.state);
  }

  private started = false;

  override updated(changed: PropertyValues<this>): void {
    if (!this.started || this.shouldRecompute(changed)) {
      this.started = true;
      void this.runCompute();
    }
  }

  /** Run compute() with the status protocol. Resolves when this run has finished (ready or error). */
  protected async runCompute(): Promise<void> {
    const run = ++this.generation;
    // Start after the current update cycle: changing `status` inside updated() would re-enter it.
    await Promise.resolve();
    if (run !== this.generation) return;
    this.status = 'running';
    this.errorMessage = '';
    try {
      await this.compute();
      if (run === this.generation) this.status = 'ready';
    } catch (e) {
      if (run !== this.generation) return;
      console.warn(`<${this.localName}> failed:`, e); // a warning, not an error: the failure is handled and shown
      this.errorMessage = describeError(e);
      this.status = 'error';
    }
  }

  override render(): TemplateResult {
    if (this.status === 'error') {
      return html`<div class="error" role="alert"><strong>This widget could not run.</strong>${this.errorMessage}</div>`;
    }
    return html`${this.renderBody()}${this.status === 'ready' ? '' : html`<p class="status-line" aria-live="polite">Computing on the GPU…</p>`}`;
  }
}
