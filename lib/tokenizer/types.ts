/**
 * Chat data shapes shared by the tokenizer, the chat template renderers and
 * generation: messages, tool calls, tools and documents, in the OpenAI /
 * Hugging Face chat-template vocabulary that Granite's template reads.
 */

/** One part of a multi-part message content; only `text` parts are rendered by Granite. */
export interface ChatContentPart {
  type: string;
  /** Present on `type: 'text'` parts. */
  text?: string;
  [key: string]: unknown;
}

/** A tool call inside an assistant message (OpenAI shape, or the bare `{name, arguments}`). */
export interface ChatToolCall {
  /** Optional call id (ignored by Granite's template). */
  id?: string;
  type?: 'function';
  function?: { name: string; arguments: unknown };
  /** Bare form, as some callers pass it. */
  name?: string;
  arguments?: unknown;
}

/** One chat message. Content is always plain text: special-token strings in it are never control tokens. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool' | (string & {});
  content: string | readonly ChatContentPart[] | null;
  /** Assistant tool calls. */
  tool_calls?: readonly ChatToolCall[];
  /** Tool results: the id of the call answered (ignored by Granite's template). */
  tool_call_id?: string;
  /** Any extra fields a template may read. */
  [key: string]: unknown;
}

/** A tool the model may call (OpenAI `{type: 'function', function: {...}}` shape or any JSON object). */
export type ChatTool = Record<string, unknown>;

/** A grounding document (`doc_id`, `title`, `text`, `source` recommended). */
export type ChatDocument = Record<string, unknown>;

/** Options of {@link Tokenizer.applyChatTemplate} and {@link Tokenizer.encodeChat}. */
export interface ChatTemplateOptions {
  /** Tools offered to the model. Default none. */
  tools?: readonly ChatTool[];
  /** Documents to ground the answer in. Default none. */
  documents?: readonly ChatDocument[];
  /** Append the assistant generation prompt (as Hugging Face, default false; generation always adds it). */
  addGenerationPrompt?: boolean;
  /** Extra variables passed to a Jinja template. Default none. */
  templateVariables?: Record<string, unknown>;
}

/** A tool call parsed out of model output. */
export interface ParsedToolCall {
  name: string;
  /** Parsed JSON arguments (an object for well-formed calls). */
  arguments: unknown;
  /** The exact JSON text between the tags. */
  raw: string;
}
