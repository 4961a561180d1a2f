// The Hymba tokenizer: Llama-2 32k BPE from tokenizer.json, the Instruct chat template, streaming decode.
// Browser-safe; the Node file loader is ./load.node.ts.
export { Tokenizer, type EncodeOptions, type DecodeOptions } from './tokenizer.ts';
export { renderChatTemplate, type ChatMessage, type ChatRole, type ChatTemplateOptions } from './chat-template.ts';
export { IncrementalDecoder } from './incremental.ts';
export { TokenizerFormatError, TokenizerInputError, TokenizerFileError } from './errors.ts';
