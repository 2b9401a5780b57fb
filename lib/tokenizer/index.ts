/** Tokenizer, chat template and tool-call parsing (re-exports). */
export { Tokenizer, type AddedTokenInfo, type DecodeOptions, type EncodeOptions, type TokenizerSpec } from './tokenizer';
export { loadTokenizer } from './load-tokenizer';
export { ChatTemplate } from './chat-template';
export { StreamingDetokenizer } from './detokenizer';
export { renderGraniteChat, GRANITE_DEFAULT_SYSTEM_PROMPT } from './granite-chat-template';
export { parseToolCalls, type ToolCallParse } from './tool-calls';
export { tokenizerJsonFromGguf } from './gguf-tokenizer';
export type * from './types';
