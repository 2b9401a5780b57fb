/**
 * Builds a model's {@link Tokenizer} from what the loaders found: GGUF
 * `tokenizer.ggml.*` metadata (+ `tokenizer.chat_template`), or a Hugging
 * Face directory's tokenizer.json (+ `chat_template` in tokenizer_config.json).
 */
import * as nodePath from 'node:path';
import { ModelFormatError, UnsupportedError } from '../errors';
import type { ModelFiles } from '../loaders/types';
import { readJsonFile } from '../loaders/read-json';
import { tokenizerJsonFromGguf } from './gguf-tokenizer';
import { Tokenizer } from './tokenizer';

/** The template text of a `chat_template` value: a string, or HF's list of named templates (the 'default' one). */
function templateOf(value: unknown, origin: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value.find((t) => t && typeof t === 'object' && (t as { name?: unknown }).name === 'default');
    const tpl = (named as { template?: unknown } | undefined)?.template;
    if (typeof tpl === 'string') return tpl;
  }
  throw new ModelFormatError(`${origin}: 'chat_template' is neither a string nor a list holding a 'default' template`);
}

/**
 * Loads the tokenizer of a model opened by openModelFiles(). Throws
 * UnsupportedError when the model carries no tokenizer or an unsupported
 * kind, ModelFormatError when the tokenizer data is malformed.
 */
export async function loadTokenizer(files: ModelFiles): Promise<Tokenizer> {
  const meta = files.metadata;
  const { bos_token_id, eos_token_id, pad_token_id } = files.config;
  if (files.format === 'gguf') {
    const origin = files.files[0];
    const { json, unusedIds } = tokenizerJsonFromGguf(meta, origin);
    return new Tokenizer({
      json,
      config: { clean_up_tokenization_spaces: false },
      chatTemplate: templateOf(meta['tokenizer.chat_template'], origin),
      bosTokenId: bos_token_id,
      eosTokenId: eos_token_id,
      padTokenId: pad_token_id,
      addBos: meta['tokenizer.ggml.add_bos_token'] === true,
      unusedIds,
      source: 'gguf',
      origin,
    });
  }
  const jsonPath = meta.tokenizerJsonPath;
  const dir = nodePath.dirname(files.files[0]);
  if (typeof jsonPath !== 'string') throw new UnsupportedError(`${dir}: no tokenizer.json next to the model`);
  const json = await readJsonFile(jsonPath, { maxBytes: 256 << 20 });
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new ModelFormatError(`${jsonPath}: not a JSON object`);
  const model = (json as { model?: { type?: unknown } }).model;
  if (!model || typeof model !== 'object') throw new ModelFormatError(`${jsonPath}: no 'model' section`);
  const { chat_template: chatTemplate, tokenizerJsonPath: _path, ...config } = meta as Record<string, unknown>;
  const idOf = (key: string, fallback: number | null): number | null => {
    const v = config[key];
    const text = typeof v === 'string' ? v : (v as { content?: unknown } | undefined)?.content;
    if (typeof text !== 'string') return fallback;
    const added = ((json as { added_tokens?: Array<{ id: number; content: string }> }).added_tokens ?? []).find((t) => t.content === text);
    return added?.id ?? fallback;
  };
  return new Tokenizer({
    json: json as Record<string, unknown>,
    config: { ...config, clean_up_tokenization_spaces: config.clean_up_tokenization_spaces === true },
    chatTemplate: templateOf(chatTemplate, nodePath.join(dir, 'tokenizer_config.json')),
    bosTokenId: bos_token_id ?? idOf('bos_token', null),
    eosTokenId: eos_token_id ?? idOf('eos_token', null),
    padTokenId: pad_token_id ?? idOf('pad_token', null),
    addBos: config.add_bos_token === true,
    unusedIds: [],
    source: 'tokenizer.json',
    origin: jsonPath,
  });
}
