/**
 * Built-in Granite 4.0 chat renderer, written from the rules in
 * docs/MODEL.md (Tokenizer and chat format). Used when a model file carries no chat template;
 * gives the same string as IBM's Jinja template for every conversation shape
 * (system or not, tools, documents, tool calls, runs of tool results).
 */
import { pyJson } from './py-json';
import type { ChatMessage, ChatTemplateOptions, ChatToolCall } from './types';

const START = '<|start_of_role|>';
const END_ROLE = '<|end_of_role|>';
const END = '<|end_of_text|>';

const TOOLS_PREFIX =
  'You are a helpful assistant with access to the following tools. You may call one or more tools to assist with the user query.\n\n' +
  'You are provided with function signatures within <tools></tools> XML tags:\n<tools>';
const TOOLS_SUFFIX =
  '\n</tools>\n\nFor each tool call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n' +
  '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>. ' +
  'If a tool does not exist in the provided list of tools, notify the user that you do not have the ability to fulfill the request.';
const DOCUMENTS_PREFIX =
  'You are a helpful assistant with access to the following documents. You may use one or more documents to assist with the user query.\n\n' +
  'You are given a list of documents within <documents></documents> XML tags:\n<documents>';
const DOCUMENTS_SUFFIX =
  "\n</documents>\n\nWrite the response to the user's input by strictly aligning with the facts in the provided documents. " +
  'If the information needed to answer the question is not available in the documents, inform the user that the question cannot be answered based on the available data.';

/** The system prompt Granite uses when a conversation has no system text, tools or documents. */
export const GRANITE_DEFAULT_SYSTEM_PROMPT =
  'You are a helpful assistant. Please ensure responses are professional, accurate, and safe.';

/** Text of a message's content: a string as is; text parts joined with '\n'; anything else ''. */
function contentText(content: ChatMessage['content']): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let out = '';
  for (const part of content) {
    if (part && part.type === 'text') {
      if (out !== '') out += '\n';
      out += typeof part.text === 'string' ? part.text : '';
    }
  }
  return out;
}

function block(prefix: string, items: readonly unknown[] | undefined, suffix: string): string {
  if (!items || items.length === 0) return '';
  return prefix + items.map((item) => '\n' + pyJson(item)).join('') + suffix;
}

function renderToolCall(call: ChatToolCall): string {
  const fn = call.function ?? call;
  const name = typeof fn.name === 'string' ? fn.name : '';
  const args = typeof fn.arguments === 'string' ? fn.arguments : pyJson(fn.arguments);
  return `<tool_call>\n{"name": "${name}", "arguments": ${args}}\n</tool_call>`;
}

/**
 * Renders `messages` with Granite 4.0's chat format (docs/MODEL.md): one
 * system turn first (its own text, plus tools and documents blocks, or the
 * default system prompt), user/system/assistant turns, runs of tool results
 * merged into one user turn, and the assistant generation prompt.
 */
export function renderGraniteChat(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
  const tools = block(TOOLS_PREFIX, options.tools, TOOLS_SUFFIX);
  const documents = block(DOCUMENTS_PREFIX, options.documents, DOCUMENTS_SUFFIX);
  const extra = [tools, documents].filter((s) => s !== '').join('\n\n');
  let system: string;
  if (messages.length > 0 && messages[0].role === 'system') {
    system = contentText(messages[0].content);
    if (extra) system += '\n\n' + extra;
  } else {
    system = extra;
  }
  let out = `${START}system${END_ROLE}${system || GRANITE_DEFAULT_SYSTEM_PROMPT}${END}\n`;

  messages.forEach((message, i) => {
    const content = contentText(message.content);
    if (message.role === 'user' || (message.role === 'system' && i > 0)) {
      out += `${START}${message.role}${END_ROLE}${content}${END}\n`;
    } else if (message.role === 'assistant') {
      out += `${START}assistant${END_ROLE}${content}`;
      (message.tool_calls ?? []).forEach((call, k) => {
        if ((k === 0 && content) || k > 0) out += '\n';
        out += renderToolCall(call);
      });
      out += `${END}\n`;
    } else if (message.role === 'tool') {
      if (i === 0 || messages[i - 1].role !== 'tool') out += `${START}user${END_ROLE}`;
      out += `\n<tool_response>\n${content}\n</tool_response>`;
      if (i === messages.length - 1 || messages[i + 1].role !== 'tool') out += `${END}\n`;
    }
  });
  if (options.addGenerationPrompt ?? false) out += `${START}assistant${END_ROLE}`;
  return out;
}
