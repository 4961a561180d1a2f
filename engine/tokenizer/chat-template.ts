// The Hymba Instruct chat template (spec §5), written out in TypeScript.
//
// The source of truth is the Jinja `chat_template` of Hymba's tokenizer_config.json. Without tools or contexts
// (which this app does not use, so they are not implemented here) it renders:
//
//   <extra_id_0>System            then "\n" + content.strip() for every system message, in order
//   \n\n
//   <extra_id_1>User\n{content.strip()}\n          for each user message,
//   <extra_id_1>Assistant\n{content.strip()}\n     each assistant message,
//   <extra_id_1>Tool\n{content.strip()}\n          each tool message, in order
//   <extra_id_1>Assistant\n                         when a generation prompt is asked for
//
// `<extra_id_0>`/`<extra_id_1>` are plain text to this vocabulary (`▁<`, `extra`, `_`, `id`, …), not special tokens.
// The rendered text is tokenized like any other, with BOS: tokenizer.encode(renderChatTemplate(...)).
import { TokenizerInputError } from './errors.ts';

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';
export interface ChatMessage {
  role: ChatRole;
  content: string;
}
export interface ChatTemplateOptions {
  /** End with `<extra_id_1>Assistant\n` so the model writes the assistant's reply next. Default false, as in HF. */
  addGenerationPrompt?: boolean;
}

const TURN_HEADER: Record<Exclude<ChatRole, 'system'>, string> = {
  user: '<extra_id_1>User\n',
  assistant: '<extra_id_1>Assistant\n',
  tool: '<extra_id_1>Tool\n',
};

// Jinja's `.strip()` is Python's str.strip(): it trims the characters str.isspace() accepts. That set differs
// from JavaScript's trim() (Python includes \x1c-\x1f and \x85 but not \uFEFF), so it is spelled out.
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'g');
const pyStrip = (s: string): string => s.replace(PY_STRIP, '');

function checkMessages(messages: ChatMessage[]): void {
  if (!Array.isArray(messages)) throw new TokenizerInputError('renderChatTemplate: expected an array of messages');
  messages.forEach((m, i) => {
    if (typeof m !== 'object' || m === null) throw new TokenizerInputError(`renderChatTemplate: message ${i} is not an object`);
    if (!['system', 'user', 'assistant', 'tool'].includes(m.role)) {
      throw new TokenizerInputError(
        `renderChatTemplate: message ${i} has role ${JSON.stringify(m.role)}; expected system, user, assistant or tool`,
      );
    }
    if (typeof m.content !== 'string') throw new TokenizerInputError(`renderChatTemplate: message ${i} (${m.role}) has no string content`);
  });
}

/** The prompt text Hymba Instruct was trained on, for these messages. */
export function renderChatTemplate(messages: ChatMessage[], opts: ChatTemplateOptions = {}): string {
  checkMessages(messages);
  let text = '<extra_id_0>System';
  for (const m of messages) if (m.role === 'system') text += '\n' + pyStrip(m.content);
  text += '\n\n';
  for (const m of messages) if (m.role !== 'system') text += TURN_HEADER[m.role] + pyStrip(m.content) + '\n';
  if (opts.addGenerationPrompt) text += TURN_HEADER.assistant;
  return text;
}
