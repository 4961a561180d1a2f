// "Show code": the few lines of engine API that reproduce a widget's numbers — the same calls the widget makes —
// ready to copy and run in Node from the repository root (`npx node snippet.ts`).
import { html, type TemplateResult } from 'lit';

async function copy(code: string, button: HTMLButtonElement): Promise<void> {
  try {
    await navigator.clipboard.writeText(code);
    button.textContent = 'Copied';
  } catch {
    // No clipboard permission (e.g. an embed in an iframe): select the text so Ctrl+C works.
    const pre = button.closest('details')?.querySelector('pre');
    if (pre) getSelection()?.selectAllChildren(pre);
    button.textContent = 'Press Ctrl+C';
  }
  setTimeout(() => (button.textContent = 'Copy'), 1500);
}

/** A collapsed "Show code" panel with a Copy button. `code` is plain text (Lit escapes it). */
export function codePanel(code: string, label = 'Show code'): TemplateResult {
  return html`<details class="code-panel">
    <summary>${label}</summary>
    <div class="code-bar">
      <button type="button" @click=${(e: Event) => copy(code, e.currentTarget as HTMLButtonElement)}>Copy</button>
      <span class="note">Runs in Node from the repository root: <code>npx node snippet.ts</code></span>
    </div>
    <pre><code>${code}</code></pre>
  </details>`;
}

export const codePanelStyles = `
  .code-panel { margin-top: 0.75rem; font-size: 0.85rem; }
  .code-panel summary { cursor: pointer; }
  .code-panel pre { background: var(--hl-code-bg, #f1f3f5); padding: 0.6rem 0.8rem; border-radius: 6px; overflow-x: auto; margin: 0.4rem 0 0; }
  .code-panel code { font-family: ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace; }
  .code-bar { display: flex; gap: 0.75rem; align-items: center; flex-wrap: wrap; margin-top: 0.4rem; }
`;
