// <hl-predict>: predict, then reveal. A lesson wraps a figure in it where it asks the reader to predict what the
// figure will show:
//
//   <hl-predict question="Which removal costs recall the most?" choices="a global layer's attention|an SSM branch">
//     <hymba-head-importance …></hymba-head-importance>
//   </hl-predict>
//
// Until the reader picks one of the choices, every widget inside carries the `concealed` attribute, and the widget
// hides the parts of its figure that answer the question (the elements it marks `data-result`; theme.ts holds the
// rule), with a note in their place. The widget keeps computing meanwhile, so the answer is ready at the reveal.
// Picking a choice reveals the figure and keeps the pick on screen, so the reader can compare it with the result.
import { LitElement, css, html } from 'lit';
import { property, state } from 'lit/decorators.js';
import { define } from './widget-base.ts';

export class PredictElement extends LitElement {
  static override styles = css`
    :host {
      display: block;
    }
    .ask {
      border: 2px solid var(--hl-accent, #3f7d00);
      border-radius: 8px;
      padding: 0.6rem 0.9rem;
      margin: 1rem 0 0.5rem;
    }
    .question {
      font-weight: 600;
      margin: 0 0 0.5rem;
    }
    .choices {
      display: flex;
      flex-wrap: wrap;
      gap: 0.4rem;
    }
    button {
      font: inherit;
      color: inherit;
      background: var(--hl-code-bg, #f1f3f5);
      border: 1px solid var(--hl-border, #d0d4da);
      border-radius: 5px;
      padding: 0.25rem 0.7rem;
      cursor: pointer;
      text-align: left;
    }
    button:focus-visible {
      outline: 3px solid var(--hl-focus, #0072b2);
      outline-offset: 2px;
    }
    .status {
      margin: 0.5rem 0 0;
      font-size: 0.9rem;
      color: var(--hl-muted, #5f6670);
    }
  `;

  /** What the reader predicts, as one question. */
  @property() question = '';
  /** The answers to pick from, separated by "|". */
  @property() choices = '';
  /** The choice the reader committed to; null while the figure's answer is still hidden. */
  @state() private picked: string | null = null;

  private get choiceList(): string[] {
    return this.choices
      .split('|')
      .map((c) => c.trim())
      .filter(Boolean);
  }

  /** The widgets whose answer this hides (any element of a <hymba-*> tag inside, however deep). */
  private widgets(): Element[] {
    return [...this.querySelectorAll('*')].filter((el) => el.localName.startsWith('hymba-'));
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.conceal();
  }

  private conceal(): void {
    for (const w of this.widgets()) w.toggleAttribute('concealed', this.picked === null);
  }

  private pick(choice: string): void {
    this.picked = choice;
    this.conceal();
  }

  override render() {
    const choices = this.choiceList;
    return html`<div class="ask" role="group" aria-label="Predict, then reveal">
        <p class="question">Predict first: ${this.question}</p>
        ${
          this.picked === null
            ? html`<div class="choices">
                  ${choices.map((c) => html`<button type="button" name="predict" @click=${() => this.pick(c)}>${c}</button>`)}
                </div>
                <p class="status">The figure's answer stays hidden until you pick one.</p>`
            : html`<p class="status" aria-live="polite">
                You predicted: <strong>${this.picked}</strong>. The figure below now shows what happens; compare.
              </p>`
        }
      </div>
      <slot></slot>`;
  }
}

define('hl-predict', PredictElement);

declare global {
  interface HTMLElementTagNameMap {
    'hl-predict': PredictElement;
  }
}
