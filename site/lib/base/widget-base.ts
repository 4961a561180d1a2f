// The contract every <hymba-*> widget follows.
//
// - Settings come from attributes (Lit `@property`), so a widget is configured the same way in a lesson, in an
//   embed on another site, and in a test.
// - The widget reflects its state in a `status` attribute: loading → running → ready, or error. Tests and lesson
//   scripts wait on it (`hymba-x[status=ready]`).
// - On error it shows a human-readable message inside its own box (e.g. "WebGPU is not available here …"), never a
//   blank box.
// - All widgets on a page share one GPU device (getPageGpu, site/lib/page/gpu.ts).
// - Every widget has an "Embed this" panel (the script-tag and iframe code for its current settings; hide="embed"
//   removes it) and reports a lost GPU device in its own box, recovering on the reader's next action.
// - Never a silent wait (issue 19): every long computation is a piece of *work* (beginWork): compute() is one, and so
//   are a widget's own actions (training, a speed run). Work gets an AbortSignal to check between batches, steps or
//   tokens, reports how far it is (reportProgress), and after PROGRESS_AFTER_MS shows a progress line — what is
//   running, how far, the time left — with a Cancel button. Cancel aborts the signal; the widget keeps what it had
//   measured, labelled as partial, and stays usable (status `ready`). Work shorter than PROGRESS_AFTER_MS shows no
//   line at all. Cancel is offered only for work that stops when asked: a widget whose compute() checks its signal
//   says so (`static cancellableCompute = true`); the others show the progress line without a Cancel, which would
//   otherwise claim to stop work that runs to its end anyway.
import { LitElement, css, html, render, type CSSResultGroup, type PropertyValues, type TemplateResult } from 'lit';
import { property, state } from 'lit/decorators.js';
import type { DeviceLostError } from '../../../engine/webgpu/device.ts';
import { gpuRequestCount, latestDeviceLoss, onDeviceLost } from '../page/gpu.ts';
import { currentAttributes, embedSnippets } from './embed-snippet.ts';
import { assetUrl } from '../page/asset-base.ts';
import { installTestHook } from '../page/test-hook.ts';

export type WidgetStatus = 'loading' | 'running' | 'ready' | 'error';

/** How far a piece of work has got. */
export interface WorkProgress {
  /** What is running, for the reader: "Removing each branch in turn". */
  what: string;
  done: number;
  total: number;
  /** What done and total count: "sequences", "steps", "tokens". */
  unit: string;
}

/** Work that lasts longer than this shows its progress line and Cancel (shorter work would only flicker). */
export const PROGRESS_AFTER_MS = 300;

/** The time left, from the pace so far: "about 12 s left". Empty until there is a pace to go by. */
export function timeLeft(p: WorkProgress, elapsedMs: number): string {
  if (!(p.done > 0) || p.done >= p.total) return '';
  const s = ((p.total - p.done) * elapsedMs) / p.done / 1000;
  if (s < 1) return 'less than a second left';
  if (s < 90) return `about ${Math.ceil(s)} s left`;
  if (s < 5400) return `about ${Math.round(s / 60)} min left`;
  return `about ${(s / 3600).toFixed(1)} h left`;
}

/** A running piece of work: its signal, when it started, how far it is, whether Cancel can stop it. */
interface Work {
  controller: AbortController;
  started: number;
  progress: WorkProgress | null;
  cancellable: boolean;
}

installTestHook();

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
    .device-lost {
      border-left: 4px solid var(--hl-error, #c62828);
      padding: 0.4rem 0.75rem;
      margin-top: 0.75rem;
      font-size: 0.9rem;
    }
    details.embed {
      margin-top: 0.75rem;
      font-size: 0.85rem;
    }
    details.embed summary {
      cursor: pointer;
      color: var(--hl-muted, #5f6670);
    }
    details.embed label {
      display: block;
      margin-top: 0.5rem;
    }
    details.embed textarea {
      display: block;
      width: 100%;
      font-family: ui-monospace, Menlo, Consolas, monospace;
      font-size: 0.8rem;
      color: inherit;
      background: var(--hl-code-bg, transparent);
      border: 1px solid var(--hl-border, #d0d4da);
      border-radius: 4px;
      resize: vertical;
    }
    .footer button {
      font: inherit;
      margin-top: 0.25rem;
    }
    .work {
      display: flex;
      flex-wrap: wrap;
      align-items: center;
      gap: 0.3rem 0.75rem;
      margin-top: 0.75rem;
      padding: 0.4rem 0.75rem;
      border-left: 4px solid var(--hl-accent, #1f6feb);
      font-size: 0.9rem;
    }
    .work progress {
      width: min(14rem, 100%);
    }
    .work-eta {
      color: var(--hl-muted, #5f6670);
    }
    .work-cancelled {
      margin-top: 0.75rem;
      border-left: 4px solid var(--hl-muted, #5f6670);
      padding: 0.3rem 0.75rem;
    }
  `;

  /**
   * Whether compute() stops when its signal aborts (it checks the signal between batches, steps or tokens and
   * returns or throws): only then does its progress line offer Cancel. Actions begun with beginWork() always can.
   */
  static cancellableCompute = false;

  @property({ reflect: true }) status: WidgetStatus = 'loading';
  /** The failure shown to the reader when status is `error`. */
  @state() errorMessage = '';
  /** Set when the GPU device this widget computed on was lost; cleared by the next run. */
  @state() deviceLost = '';
  /** Whether the reader opened "Embed this" (its code then follows the settings as they change). */
  @state() private embedOpen = false;
  /** The work running now (compute() or an action), or null. */
  @state() private work: Work | null = null;
  /** Set when the reader cancelled: what the figure now shows. Cleared when new work starts. */
  @state() cancelNote = '';
  /** Stops the timer that re-renders the progress line (it appears, then its time left moves). */
  private stopWorkTimer: (() => void) | null = null;
  @state() private copied = '';
  /** Whether the last compute() asked for the page's GPU (only such widgets report a lost device). */
  private usedGpu = false;
  /** Holds the embed panel and the device-lost note, after whatever the subclass renders. */
  private footer: HTMLElement | null = null;
  private readonly onDeviceLost = (lost: DeviceLostError): void => {
    if (!this.usedGpu) return;
    this.deviceLost = `${lost.message}. This figure will recompute on a new device at your next change.`;
  };

  private stopListening: (() => void) | null = null;

  override connectedCallback(): void {
    super.connectedCallback();
    this.stopListening = onDeviceLost(this.onDeviceLost);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.stopListening?.();
    this.stopListening = null;
    this.work?.controller.abort();
    this.endWork();
  }

  /**
   * Start a piece of work; the one before (a stale compute, a speed run) is aborted: a widget runs one at a time.
   * Check the signal between batches, steps or tokens, and stop there.
   */
  protected beginWork(what = 'Computing', cancellable = true): AbortSignal {
    this.work?.controller.abort();
    this.stopWorkTimer?.();
    const work: Work = { controller: new AbortController(), started: performance.now(), progress: null, cancellable };
    if (what !== 'Computing') work.progress = { what, done: 0, total: 0, unit: '' };
    this.work = work;
    this.cancelNote = '';
    // Re-render after PROGRESS_AFTER_MS (the line appears) and then each second (the time left moves).
    let tick: ReturnType<typeof setInterval> | undefined;
    const appear = setTimeout(() => {
      this.requestUpdate();
      tick = setInterval(() => this.requestUpdate(), 1000);
    }, PROGRESS_AFTER_MS);
    this.stopWorkTimer = () => {
      clearTimeout(appear);
      clearInterval(tick);
    };
    return work.controller.signal;
  }

  /** Report how far the work of `signal` is (ignored once newer work has started). */
  protected reportProgress(signal: AbortSignal, progress: WorkProgress): void {
    if (this.work?.controller.signal !== signal) return;
    this.work = { ...this.work, progress };
  }

  /** The work of `signal` has finished (or stopped): hide its progress line. */
  protected endWork(signal?: AbortSignal): void {
    if (signal && this.work?.controller.signal !== signal) return;
    this.work = null;
    this.stopWorkTimer?.();
    this.stopWorkTimer = null;
  }

  /** Whether work is running now. */
  get working(): boolean {
    return this.work !== null;
  }

  /** Whether the progress line is on screen (work that has lasted PROGRESS_AFTER_MS). */
  protected get progressShown(): boolean {
    return this.work !== null && performance.now() - this.work.started >= PROGRESS_AFTER_MS;
  }

  /** Whether the running work can be cancelled (its progress line has a Cancel); false when idle. */
  get cancellable(): boolean {
    return this.work?.cancellable ?? false;
  }

  /** The progress of the running work, for tests and benchmarks (null when idle or not reported yet). */
  get workProgress(): WorkProgress | null {
    return this.work?.progress ?? null;
  }

  /**
   * Stop the running work (the Cancel button). What it measured so far stays on screen, labelled partial by
   * `partialNote()`; the widget goes to `ready`.
   */
  cancel(): void {
    const work = this.work;
    if (!work?.cancellable) return;
    work.controller.abort();
    this.endWork();
    const p = work.progress;
    const far = p && p.total > 0 ? ` after ${p.done} of ${p.total} ${p.unit}` : '';
    this.cancelNote = `Cancelled${far}. ${this.partialNote()}`;
    if (this.status === 'running') this.status = 'ready';
  }

  /** What the figure shows after a Cancel; widgets say what their partial result rests on. */
  protected partialNote(): string {
    return 'What is shown is partial: the result so far, from before you cancelled.';
  }

  /** Increments per run, so a slow stale run cannot overwrite a newer one's result or status. */
  private generation = 0;

  /** The widget's body when it is not in error. */
  protected abstract renderBody(): TemplateResult;

  /**
   * The work: compute and store results on `this`. Called after the first render and when settings change. Check
   * `signal` between batches and return early once it is aborted (a Cancel, or newer settings).
   */
  protected abstract compute(signal: AbortSignal): Promise<void>;

  /** Whether these changes re-run compute(); by default a change of any setting (a `@property` other than status, not a `@state`). */
  protected shouldRecompute(changed: PropertyValues<this>): boolean {
    const declared = (this.constructor as typeof HymbaWidget).elementProperties;
    return [...changed.keys()].some((key) => key !== 'status' && !declared.get(key)?.state);
  }

  private started = false;

  /** @fires hymba-status - after every change of `status`; detail: { status }. Embedding pages can wait on it. */
  override updated(changed: PropertyValues<this>): void {
    if (changed.has('status')) {
      this.dispatchEvent(new CustomEvent('hymba-status', { detail: { status: this.status }, bubbles: true, composed: true }));
    }
    if (!this.started || this.shouldRecompute(changed)) {
      this.started = true;
      void this.runCompute();
    }
  }

  /** Whether the teacher or embedder hid this part (hide="embed" …); LabWidget's controls use the same list. */
  protected hiddenByAttribute(name: string): boolean {
    return (this.getAttribute('hide') ?? '').split(/[\s,]+/).includes(name);
  }

  /**
   * After the subclass's render(), render the footer (device-lost note, embed panel) into its own container at the
   * end of the shadow root: every widget gets it, whatever its render() does.
   */
  protected override update(changed: PropertyValues<this>): void {
    super.update(changed);
    if (!this.footer) {
      this.footer = document.createElement('div');
      this.footer.className = 'footer';
    }
    // Lit's root part runs to the end of the shadow root: when render() switches templates (to the error box) it
    // clears the footer too, so put it back.
    if (this.footer.parentNode !== this.renderRoot) this.renderRoot.appendChild(this.footer);
    render(this.renderFooter(), this.footer, { host: this });
  }

  /** The progress line and Cancel of the running work (once it has lasted PROGRESS_AFTER_MS), or the cancel note. */
  private renderWork(): TemplateResult | string {
    const work = this.work;
    if (!work) {
      if (!this.cancelNote) return '';
      return html`<p class="work-cancelled note" role="status" data-partial>
        ${this.cancelNote}
        ${this.canResume() ? html`<button type="button" name="rerun" @click=${() => void this.runCompute()}>Run again</button>` : ''}
      </p>`;
    }
    const elapsed = performance.now() - work.started;
    if (elapsed < PROGRESS_AFTER_MS) return '';
    const p = work.progress;
    const far = p && p.total > 0 ? `: ${p.done} of ${p.total} ${p.unit}` : '';
    const left = p ? timeLeft(p, elapsed) : '';
    const took = `${Math.floor(elapsed / 1000)} s so far`;
    return html`<div class="work" role="status" aria-live="polite">
      <span class="work-what">${p?.what ?? 'Computing'}${far}</span>
      ${p && p.total > 0 ? html`<progress max=${p.total} .value=${p.done}></progress>` : html`<progress></progress>`}
      <span class="work-eta">${left || took}</span>
      ${work.cancellable ? html`<button type="button" name="cancel" @click=${() => this.cancel()}>Cancel</button>` : ''}
    </div>`;
  }

  /** Whether "Run again" after a Cancel re-runs compute() (widgets whose work is an action say no). */
  protected canResume(): boolean {
    return true;
  }

  private renderFooter(): TemplateResult {
    const work = this.renderWork();
    const lost = this.deviceLost
      ? html`<div class="device-lost" role="alert">
          ${this.deviceLost}
          <button type="button" name="recompute" @click=${() => void this.runCompute()}>Recompute now</button>
        </div>`
      : '';
    if (this.hiddenByAttribute('embed')) return html`${work}${lost}`;
    const s = this.embedOpen ? embedSnippets(this.localName, currentAttributes(this)) : null;
    return html`${work}${lost}
      <details class="embed" @toggle=${this.onEmbedToggle}>
        <summary>Embed this</summary>
        ${
          s
            ? html`<label
                  >On a page that runs scripts (one script, then the tag):
                  <textarea readonly rows="3" name="embed-script" .value=${s.script}></textarea>
                </label>
                <button type="button" data-copy="script" @click=${() => this.copy('script', s.script)}>Copy</button>
                <label
                  >Where only iframes are allowed:
                  <textarea readonly rows="3" name="embed-iframe" .value=${s.iframe}></textarea>
                </label>
                <button type="button" data-copy="iframe" @click=${() => this.copy('iframe', s.iframe)}>Copy</button>
                <span aria-live="polite">${this.copied ? `Copied the ${this.copied} code.` : ''}</span>
                <p>Every attribute: <a href=${assetUrl(`widgets/#${this.localName}`)} target="_blank">widget reference</a>.</p>`
            : ''
        }
      </details>`;
  }

  private readonly onEmbedToggle = (e: Event): void => {
    this.embedOpen = (e.currentTarget as HTMLDetailsElement).open;
    this.copied = '';
  };

  private async copy(which: string, text: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // No clipboard permission (an iframe, plain http): select the text so Ctrl+C copies it.
      const area = this.footer?.querySelector<HTMLTextAreaElement>(`textarea[name=embed-${which}]`);
      area?.select();
    }
    this.copied = which;
  }

  /** Run compute() with the status protocol. Resolves when this run has finished (ready or error). */
  protected async runCompute(): Promise<void> {
    const run = ++this.generation;
    // Start after the current update cycle: changing `status` inside updated() would re-enter it.
    await Promise.resolve();
    if (run !== this.generation) return;
    this.status = 'running';
    this.errorMessage = '';
    this.deviceLost = '';
    const requestsBefore = gpuRequestCount();
    const signal = this.beginWork('Computing', (this.constructor as typeof HymbaWidget).cancellableCompute);
    try {
      await this.compute(signal);
      // Concurrent widgets may blur this (a count, not a trace), at worst showing a lost-device note to one more.
      this.usedGpu ||= gpuRequestCount() !== requestsBefore;
      if (run === this.generation) this.status = 'ready';
    } catch (e) {
      if (run !== this.generation) return;
      if (signal.aborted) {
        this.status = 'ready'; // cancelled mid-call: what was measured stays, labelled partial (cancel())
        return;
      }
      // A device lost mid-run fails whatever GPU call was in flight (mapAsync…): say what really happened and offer
      // the same way back as a loss after `ready` (the note's Recompute button, on a new device).
      const lost = this.usedGpu || gpuRequestCount() !== requestsBefore ? await latestDeviceLoss() : null;
      if (run !== this.generation) return;
      console.warn(`<${this.localName}> failed:`, e); // a warning, not an error: the failure is handled and shown
      if (lost) {
        this.usedGpu = true;
        this.errorMessage = `The GPU device was lost while this figure was computing, so it has no result (${lost.reason}).`;
        this.deviceLost = `${lost.message}. Press Recompute now to run it again on a new device.`;
      } else this.errorMessage = describeError(e);
      this.status = 'error';
    } finally {
      this.endWork(signal);
    }
  }

  override render(): TemplateResult {
    if (this.status === 'error') {
      return html`<div class="error" role="alert"><strong>This widget could not run.</strong>${this.errorMessage}</div>`;
    }
    const line =
      this.status === 'ready' || this.progressShown ? '' : html`<p class="status-line" aria-live="polite">Computing on the GPU…</p>`;
    return html`${this.renderBody()}${line}`;
  }
}
