// The English text box of the widgets that read a reader's sentence (stepper, attention map): the input, what the
// widget says it does with the text, which characters became <unk>, and why the text cannot run when it cannot.
import { html, type TemplateResult } from 'lit';
import { MAX_TEXT_CHARS, unknownNote } from '../content/english-tokens.ts';

export interface EnglishTextBox {
  value: string;
  /** What the widget does with the text (after "Type an English sentence (up to N characters)"). */
  help: TemplateResult;
  /** The characters the tokenizer does not know, once the text has been read. */
  unknown: readonly string[] | undefined;
  /** Why the text cannot run (empty, too long), or ''. */
  error: string;
  /** The class of the error line (tests and styles read it). */
  errorClass: string;
  onChange: (text: string) => void;
}

export function englishTextBox(o: EnglishTextBox): TemplateResult {
  const unknown = o.unknown ? unknownNote(o.unknown) : '';
  return html`<label class="controls"
      >Text
      <input
        class="prompt-input"
        name="text"
        .value=${o.value}
        maxlength=${MAX_TEXT_CHARS}
        spellcheck="false"
        aria-describedby="text-help"
        @change=${(e: Event) => o.onChange((e.target as HTMLInputElement).value)}
    /></label>
    <p class="note" id="text-help">Type an English sentence (up to ${MAX_TEXT_CHARS} characters)${o.help}</p>
    ${unknown ? html`<p class="note unk-note" role="note">${unknown}</p>` : ''}
    ${o.error ? html`<p class="note ${o.errorClass}" role="alert">${o.error}</p>` : ''}`;
}
