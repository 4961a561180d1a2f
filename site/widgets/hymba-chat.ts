// <hymba-chat context="2048" max-tokens="128">
// A chat with Hymba-1.5B-Instruct (or any Hymba checkpoint) whose files the reader brings: picked from disk (files,
// a folder, or dropped), or from a URL the reader types. Nothing is downloaded unless the reader asks, and picked
// files never leave the browser. The checkpoint streams in tensor by tensor (engine/checkpoint/stream.ts) and can be
// kept in the browser's storage (OPFS, else the Cache API) so a reload does not fetch 3 GB again.
//
// Prompts use the Instruct chat template (hymba-spec.md §5). BOS: on by default (see lesson 8: every pretraining
// sequence began with <s> after the meta tokens; HF's apply_chat_template would leave it out, spec §6.1), with a
// switch. Each turn re-prefills the whole conversation (spec §2.10 (c): continuing a cache with several new tokens is
// not a reliable reference), then decodes token by token, streaming text and the session's cache usage.
import { css, html, type TemplateResult } from 'lit';
import { state } from 'lit/decorators.js';
import { fileListFiles, type ModelFiles } from '../../engine/checkpoint/load.ts';
import { httpFiles, type StreamProgress } from '../../engine/checkpoint/stream.ts';
import { modelId, openModelStore, type ModelStore, type StoredModel } from '../../engine/checkpoint/browser-store.ts';
import type { CacheUsage } from '../../engine/session/types.ts';
import { IncrementalDecoder, renderChatTemplate, type ChatMessage } from '../../engine/tokenizer/index.ts';
import { Sampler } from '../../engine/sampling.ts';
import type { GpuContext } from '../../engine/webgpu/device.ts';
import { define, describeError } from '../lib/base/widget-base.ts';
import { getPageGpu } from '../lib/page/gpu.ts';
import { LabWidget } from '../lib/base/lab-widget.ts';
import { formatBytes } from '../lib/page/engine-controller.ts';
import { inspectModel, loadChatModel, type ChatModel } from '../lib/features/full-size-engine.ts';
import type { Schema } from '../lib/base/url-state.ts';

const SYSTEM = 'You are a helpful assistant.';
/** The template's turn marker: if the model starts a new turn itself, its reply has ended. */
const TURN_MARK = '<extra_id_1>';

export class HymbaChat extends LabWidget {
  static override styles = [
    LabWidget.styles,
    css`
      .sources {
        display: grid;
        gap: 0.5rem;
      }
      .drop {
        border: 2px dashed var(--hl-border, #d0d4da);
        border-radius: 6px;
        padding: 0.75rem;
        text-align: center;
      }
      .drop.over {
        border-color: var(--hl-focus, #0072b2);
      }
      input[type='url'] {
        width: min(100%, 32rem);
        font: inherit;
      }
      .log {
        display: grid;
        gap: 0.4rem;
        margin: 0.5rem 0;
      }
      .msg {
        white-space: pre-wrap;
        padding: 0.4rem 0.6rem;
        border-radius: 6px;
        background: var(--hl-code-bg, #f4f5f7);
      }
      .msg.user {
        justify-self: end;
        max-width: 85%;
      }
      .msg .role {
        display: block;
        font-size: 0.75rem;
        color: var(--hl-muted, #5f6670);
      }
      textarea[name='prompt'] {
        width: 100%;
        font: inherit;
      }
      .inline-error {
        border-left: 4px solid var(--hl-error, #c62828);
        padding: 0.4rem 0.75rem;
        background: var(--hl-error-bg, #fdecea);
      }
      .usage {
        font-variant-numeric: tabular-nums;
      }
    `,
  ];

  /** Text tokens a chat may reach (prompt + reply); sizes the global layers' caches. */
  static override settings: Schema = {
    context: { kind: 'number', default: 2048, min: 64, max: 8192, int: true },
    maxTokens: { kind: 'number', default: 128, min: 1, max: 2048, int: true },
  };
  declare context: number;
  /** The longest reply, in tokens. */
  declare maxTokens: number;

  @state() model: ChatModel | null = null;
  @state() stored: StoredModel[] = [];
  @state() loadError = '';
  @state() loadMessage = '';
  @state() loadProgress: StreamProgress | null = null;
  @state() keep = false;
  @state() bos = true;
  @state() temperature = 0;
  @state() system = SYSTEM;
  /** The conversation as shown; the last assistant message grows while tokens stream in. */
  @state() chatLog: ChatMessage[] = [];
  @state() usage: CacheUsage | null = null;
  @state() sessionTokens = 0;
  @state() generating = false;
  @state() msPerToken = 0;
  @state() gpuNote = '';
  @state() private dragOver = false;
  /** The ids of the last reply (tests read them). */
  lastReplyIds: number[] = [];
  private store: ModelStore | null = null;
  private stopRequested = false;
  private abort: AbortController | null = null;

  protected override async compute(): Promise<void> {
    // Nothing is loaded until the reader asks. Say up front whether this browser can run the full-size model.
    this.gpuNote = navigator.gpu
      ? ''
      : 'The full-size model needs WebGPU, and this browser does not offer it (no navigator.gpu). Use a recent Chrome, Edge or Safari with WebGPU on; the rest of the page works without it.';
    this.store = await openModelStore(navigator.storage, globalThis.caches).catch(() => null);
    this.stored = (await this.store?.list().catch(() => [])) ?? [];
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.abort?.abort(new Error('the widget was removed'));
    this.model?.engine.dispose();
    this.model = null;
  }

  // -- loading -------------------------------------------------------------------------------------------------

  private async load(files: ModelFiles, id: string, keep: boolean): Promise<void> {
    if (this.status === 'running') return;
    this.status = 'running';
    this.loadError = '';
    this.loadProgress = null;
    this.abort = new AbortController();
    const signal = this.abort.signal;
    try {
      this.model?.engine.dispose();
      this.model = null;
      this.chatLog = [];
      this.usage = null;
      let source = files;
      this.loadMessage = 'Checking the files…';
      const { estimate } = await inspectModel(source, this.context);
      if (keep && this.store) {
        this.loadMessage = `Keeping a copy in this browser (${this.store.backend === 'opfs' ? 'Origin Private File System' : 'Cache Storage'})…`;
        await this.store.save(id, source, {
          signal,
          onProgress: (saved, total, file) => (this.loadProgress = { loaded: saved, total, file, fileLoaded: saved, fileTotal: total }),
        });
        source = (await this.store.files(id))!;
        this.stored = await this.store.list();
      }
      let gpu: GpuContext | null = null;
      try {
        gpu = await getPageGpu();
      } catch (e) {
        this.gpuNote = `The full-size model needs WebGPU: ${describeError(e)}`;
      }
      this.loadMessage = `Loading: about ${formatBytes(estimate.weights)} of weights and ${formatBytes(estimate.session)} for a ${this.context}-token chat on the GPU…`;
      this.model = await loadChatModel(source, gpu, {
        context: this.context,
        signal,
        onProgress: (p) => (this.loadProgress = p),
        say: (m) => (this.loadMessage = m),
      });
      this.loadMessage = '';
    } catch (e) {
      this.loadError = loadFailure(e);
      this.loadMessage = '';
    } finally {
      this.loadProgress = null;
      this.abort = null;
      this.status = 'ready';
    }
  }

  private onFiles(e: Event): void {
    const input = e.currentTarget as HTMLInputElement;
    const list = input.files;
    if (!list || list.length === 0) return;
    const folder = list[0].webkitRelativePath.split('/')[0];
    void this.load(fileListFiles(list, folder || `${list.length} picked files`), modelId(folder || 'picked-model'), this.keep);
    input.value = '';
  }

  private async onDrop(e: DragEvent): Promise<void> {
    e.preventDefault();
    this.dragOver = false;
    const { files, folder } = await filesFromDrop(e.dataTransfer);
    if (files.length > 0) void this.load(fileListFiles(files, folder || 'dropped files'), modelId(folder || 'dropped-model'), this.keep);
  }

  private onUrl(e: Event): void {
    e.preventDefault();
    const input = this.renderRoot.querySelector<HTMLInputElement>('input[name=url]')!;
    let url: URL;
    try {
      url = new URL(input.value.trim(), location.href);
    } catch {
      this.loadError = `“${input.value}” is not a URL.`;
      return;
    }
    void this.load(httpFiles(url.href), modelId(url.href), this.keep);
  }

  private async forget(id: string): Promise<void> {
    await this.store?.forget(id);
    this.stored = (await this.store?.list()) ?? [];
  }

  // -- chatting ------------------------------------------------------------------------------------------------

  private async send(e: Event): Promise<void> {
    e.preventDefault();
    const m = this.model;
    const box = this.renderRoot.querySelector<HTMLTextAreaElement>('textarea[name=prompt]')!;
    const prompt = box.value.trim();
    if (!m || !prompt || this.generating) return;
    box.value = '';
    this.generating = true;
    this.stopRequested = false;
    this.status = 'running';
    this.loadError = '';
    const history: ChatMessage[] = [...this.chatLog, { role: 'user', content: prompt }];
    this.chatLog = [...history, { role: 'assistant', content: '' }];
    const messages: ChatMessage[] = [{ role: 'system', content: this.system }, ...history];
    const ids = m.tokenizer.encode(renderChatTemplate(messages, { addGenerationPrompt: true }), { addBos: this.bos });
    const room = Math.min(this.context, m.config.maxPositionEmbeddings) - ids.length;
    let session = null;
    try {
      if (room < 2)
        throw new Error(`The conversation is ${ids.length} tokens, more than this chat's ${this.context}: press Clear to start over.`);
      session = await m.engine.session({ maxContext: Math.min(this.context, m.config.maxPositionEmbeddings) });
      const sampler = new Sampler({
        temperature: this.temperature,
        topP: this.temperature > 0 ? 0.9 : undefined,
        seed: Date.now() % 2147483647,
      });
      const decoder = new IncrementalDecoder(m.tokenizer);
      let reply = '';
      this.lastReplyIds = [];
      let logits = (await session.prefill(ids)).logits;
      this.usage = session.cacheUsage();
      this.sessionTokens = session.length;
      const t0 = performance.now();
      const limit = Math.min(this.maxTokens, room);
      for (let i = 0; i < limit && !this.stopRequested; i++) {
        const id = sampler.next(logits);
        if (id === m.tokenizer.eosId) break;
        this.lastReplyIds.push(id);
        reply += decoder.push(id);
        const cut = reply.indexOf(TURN_MARK);
        this.setReply(cut >= 0 ? reply.slice(0, cut) : reply);
        if (cut >= 0) break;
        if (i + 1 < limit) {
          logits = (await session.step(id)).logits;
          this.usage = session.cacheUsage();
          this.sessionTokens = session.length;
          this.msPerToken = (performance.now() - t0) / (i + 1);
        }
      }
      reply += decoder.flush();
      const cut = reply.indexOf(TURN_MARK);
      this.setReply((cut >= 0 ? reply.slice(0, cut) : reply).trim());
    } catch (e) {
      this.loadError = describeError(e);
    } finally {
      session?.dispose();
      this.generating = false;
      this.status = 'ready';
    }
  }

  private setReply(text: string): void {
    const log = this.chatLog.slice();
    log[log.length - 1] = { role: 'assistant', content: text };
    this.chatLog = log;
  }

  // -- rendering -----------------------------------------------------------------------------------------------

  protected override renderBody(): TemplateResult {
    return html`
      ${this.gpuNote ? html`<p class="note gpu-note" role="note">${this.gpuNote}</p>` : ''}
      ${this.model ? this.renderChat(this.model) : this.renderSources()}
      ${this.loadMessage ? html`<p class="status-line load-message" aria-live="polite">${this.loadMessage}</p>` : ''}
      ${this.renderProgress()} ${this.loadError ? html`<p class="inline-error load-error" role="alert">${this.loadError}</p>` : ''}
    `;
  }

  private renderSources(): TemplateResult {
    const busy = this.status === 'running';
    return html`<div class="sources">
      <p>
        Bring the weights: <code>config.json</code>, <code>model.safetensors</code> (or the shards and
        <code>model.safetensors.index.json</code>), <code>tokenizer.json</code> and <code>tokenizer_config.json</code>. The files stay in
        this browser.
      </p>
      <label>Pick the files <input type="file" name="files" multiple ?disabled=${busy} @change=${this.onFiles} /></label>
      <label>or the folder <input type="file" name="folder" webkitdirectory ?disabled=${busy} @change=${this.onFiles} /></label>
      <div
        class="drop ${this.dragOver ? 'over' : ''}"
        @dragover=${(e: DragEvent) => {
          e.preventDefault();
          this.dragOver = true;
        }}
        @dragleave=${() => (this.dragOver = false)}
        @drop=${(e: DragEvent) => void this.onDrop(e)}
      >
        or drop the folder or its files here
      </div>
      <form @submit=${this.onUrl}>
        <label
          >or load from a URL (a folder that holds the files; the server must allow this page to read it)
          <input type="url" name="url" placeholder="https://…/Hymba-1.5B-Instruct/resolve/main/" ?disabled=${busy}
        /></label>
        <button type="submit" name="load-url" ?disabled=${busy}>Load</button>
      </form>
      <label
        ><input
          type="checkbox"
          name="keep"
          .checked=${this.keep}
          ?disabled=${!this.store}
          @change=${(e: Event) => (this.keep = (e.target as HTMLInputElement).checked)}
        />
        Keep a copy in this browser, so a reload does not read it again${this.store ? '' : ' (this browser offers no storage here)'}</label
      >
      ${
        this.stored.length
          ? html`<ul class="stored">
              ${this.stored.map(
                (s) =>
                  html`<li data-id=${s.id}>
                    Stored: <strong>${s.id}</strong> (${formatBytes(s.bytes)})
                    <button type="button" name="load-stored" ?disabled=${busy} @click=${() => void this.loadStored(s.id)}>Load</button>
                    <button type="button" name="forget" ?disabled=${busy} @click=${() => void this.forget(s.id)}>
                      Forget stored model
                    </button>
                  </li>`,
              )}
            </ul>`
          : ''
      }
    </div>`;
  }

  private async loadStored(id: string): Promise<void> {
    const files = await this.store?.files(id);
    if (!files) {
      this.loadError = `The stored copy of “${id}” is incomplete or gone; load it again.`;
      return;
    }
    await this.load(files, id, false);
  }

  private renderProgress(): TemplateResult | string {
    const p = this.loadProgress;
    if (!p) return '';
    const file = p.file.split('/').pop();
    return html`<p class="progress" aria-live="polite">
      <progress max=${p.total} .value=${p.loaded}></progress>
      ${formatBytes(p.loaded)} of ${formatBytes(p.total)} (${file}: ${formatBytes(p.fileLoaded)} of ${formatBytes(p.fileTotal)})
      <button type="button" name="cancel" @click=${() => this.abort?.abort(new Error('Loading cancelled.'))}>Cancel</button>
    </p>`;
  }

  private renderChat(m: ChatModel): TemplateResult {
    const u = this.usage;
    return html`
      <p class="loaded">
        Loaded <strong>${m.label}</strong>: ${m.config.numLayers} layers, width ${m.config.hiddenSize}, on
        ${m.backend === 'webgpu' ? 'the GPU (WebGPU)' : 'the CPU'}.
        <button type="button" name="unload" ?disabled=${this.generating} @click=${this.unload}>Unload</button>
      </p>
      ${m.note ? html`<p class="note">${m.note}</p>` : ''}
      <div class="log" aria-live="polite">
        ${this.chatLog.map((msg) => html`<div class="msg ${msg.role}"><span class="role">${msg.role}</span>${msg.content}</div>`)}
      </div>
      <form @submit=${this.send}>
        <textarea name="prompt" rows="2" placeholder="Ask something…" ?disabled=${this.generating}></textarea>
        <div class="controls">
          <button type="submit" name="send" ?disabled=${this.generating}>Send</button>
          <button type="button" name="stop" ?disabled=${!this.generating} @click=${() => (this.stopRequested = true)}>Stop</button>
          <button type="button" name="clear" ?disabled=${this.generating} @click=${() => ((this.chatLog = []), (this.usage = null))}>
            Clear
          </button>
          <label
            ><input
              type="checkbox"
              name="bos"
              .checked=${this.bos}
              @change=${(e: Event) => (this.bos = (e.target as HTMLInputElement).checked)}
            />
            start with BOS &lt;s&gt;</label
          >
          <label
            >Temperature
            <input
              type="number"
              name="temperature"
              min="0"
              max="2"
              step="0.1"
              .value=${String(this.temperature)}
              @change=${(e: Event) => (this.temperature = Math.max(0, Number((e.target as HTMLInputElement).value) || 0))}
          /></label>
          <label
            >System
            <input
              type="text"
              name="system"
              .value=${this.system}
              @change=${(e: Event) => (this.system = (e.target as HTMLInputElement).value)}
          /></label>
        </div>
      </form>
      ${
        u
          ? html`<p class="usage" data-tokens=${this.sessionTokens} data-total-bytes=${u.total_bytes} data-kv-bytes=${u.kv_bytes}>
              Cache after <strong>${this.sessionTokens}</strong> tokens (plus ${m.config.numMetaTokens} meta tokens):
              <strong>${formatBytes(u.total_bytes)}</strong> = KV ${formatBytes(u.kv_bytes)} + conv ${formatBytes(u.conv_state_bytes)} + SSM
              ${formatBytes(u.ssm_state_bytes)}${this.msPerToken ? html`; ${this.msPerToken.toFixed(1)} ms per token` : ''}.
            </p>`
          : ''
      }
    `;
  }

  private readonly unload = (): void => {
    this.model?.engine.dispose();
    this.model = null;
    this.chatLog = [];
    this.usage = null;
  };
}

/** A failure while loading, as a reader-facing sentence. */
function loadFailure(e: unknown): string {
  const name = (e as Error)?.name;
  if (name === 'GpuOutOfMemoryError') {
    return `The GPU ran out of memory while loading (${describeError(e)}). Close other GPU-heavy tabs, or use a device with more GPU memory.`;
  }
  if (name === 'StorageQuotaError') return `Could not keep a copy: ${describeError(e)}`;
  return describeError(e);
}

/** The files of a drop: plain files, or every file inside a dropped folder (one level of folders is enough for a model). */
async function filesFromDrop(dt: DataTransfer | null): Promise<{ files: File[]; folder: string }> {
  if (!dt) return { files: [], folder: '' };
  const entries = [...dt.items].map((i) => i.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  const files: File[] = [];
  let folder = '';
  const fileOf = (entry: FileSystemFileEntry) => new Promise<File>((resolve, reject) => entry.file(resolve, reject));
  for (const entry of entries) {
    if (entry.isFile) files.push(await fileOf(entry as FileSystemFileEntry));
    else if (entry.isDirectory) {
      folder ||= entry.name;
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
        if (batch.length === 0) break;
        for (const child of batch) if (child.isFile) files.push(await fileOf(child as FileSystemFileEntry));
      }
    }
  }
  if (entries.length === 0) files.push(...dt.files);
  return { files, folder };
}

define('hymba-chat', HymbaChat);

declare global {
  interface HTMLElementTagNameMap {
    'hymba-chat': HymbaChat;
  }
}
