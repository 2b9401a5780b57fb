/**
 * GGUF tokenizer metadata -> the equivalent Hugging Face `tokenizer.json`
 * object, so one tokenizer implementation serves both sources and the same
 * text gives the same ids. Covers `tokenizer.ggml.model = "gpt2"` (byte-level
 * BPE) with the pre-tokenizers llama.cpp names `gpt2`/`default` and the
 * cl100k-style family (`llama3`, `llama-bpe`, `dbrx`, `smaug-bpe`), which is
 * what Granite 4.0-H ships (docs/MODEL.md, Tokenizer).
 */
import { ModelFormatError, UnsupportedError } from '../errors';

/** GGUF token types (llama.cpp `llama_token_type`). */
export enum GgufTokenType {
  Undefined = 0,
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
}

/** The cl100k / llama3 split used by Granite (`tokenizer.ggml.pre = dbrx`), in tokenizer.json syntax. */
const CL100K_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const CL100K_PRE = new Set(['llama3', 'llama-v3', 'llama-bpe', 'dbrx', 'smaug-bpe']);
const GPT2_PRE = new Set(['gpt2', 'default']);

/** What {@link tokenizerJsonFromGguf} returns. */
export interface GgufTokenizerJson {
  /** A tokenizer.json object for @huggingface/tokenizers. */
  json: Record<string, unknown>;
  /** Ids with no usable token (GGUF `unused` padding rows): never sampled. */
  unusedIds: number[];
}

function stringArray(meta: Readonly<Record<string, unknown>>, key: string, source: string): readonly string[] {
  const v = meta[key];
  if (!Array.isArray(v)) throw new ModelFormatError(`${source}: metadata '${key}' is missing or not an array`);
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== 'string') {
      throw new ModelFormatError(`${source}: metadata '${key}'[${i}] is ${typeof v[i]}, expected a string`);
    }
  }
  return v as string[];
}

function preTokenizerFor(pre: string, source: string): Record<string, unknown> {
  if (CL100K_PRE.has(pre)) {
    return {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: CL100K_SPLIT }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    };
  }
  if (GPT2_PRE.has(pre)) return { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  throw new UnsupportedError(
    `${source}: metadata 'tokenizer.ggml.pre' is '${pre}'; supported: ${[...CL100K_PRE, ...GPT2_PRE].join(', ')}`,
  );
}

/**
 * Builds the tokenizer.json equivalent of a GGUF's `tokenizer.ggml.*` keys.
 * Normal and byte tokens form the BPE vocabulary; control (and unknown)
 * tokens become special added tokens, user-defined tokens non-special added
 * tokens (matched whole, kept by skip-special decoding), as llama.cpp does.
 * `source` names the file in error messages.
 */
export function tokenizerJsonFromGguf(meta: Readonly<Record<string, unknown>>, source: string): GgufTokenizerJson {
  const model = meta['tokenizer.ggml.model'];
  if (model === undefined) throw new UnsupportedError(`${source}: no tokenizer (metadata 'tokenizer.ggml.model' is missing)`);
  if (model !== 'gpt2') {
    throw new UnsupportedError(`${source}: metadata 'tokenizer.ggml.model' is '${String(model)}'; only 'gpt2' (byte-level BPE) is supported`);
  }
  const tokens = stringArray(meta, 'tokenizer.ggml.tokens', source);
  const merges = stringArray(meta, 'tokenizer.ggml.merges', source);
  const typesRaw = meta['tokenizer.ggml.token_type'];
  let types: readonly number[];
  if (typesRaw === undefined) {
    types = tokens.map(() => GgufTokenType.Normal);
  } else if (Array.isArray(typesRaw) && typesRaw.length === tokens.length && typesRaw.every((t) => Number.isInteger(t))) {
    types = typesRaw as number[];
  } else {
    throw new ModelFormatError(
      `${source}: metadata 'tokenizer.ggml.token_type' must be an integer array of ${tokens.length} entries (one per token)`,
    );
  }
  const pre = meta['tokenizer.ggml.pre'];
  const preTokenizer = preTokenizerFor(typeof pre === 'string' ? pre : 'default', source);

  const vocab: Record<string, number> = Object.create(null);
  const added: Array<Record<string, unknown>> = [];
  const unusedIds: number[] = [];
  const seen = new Set<string>();
  for (let id = 0; id < tokens.length; id++) {
    const text = tokens[id];
    const type = types[id] as GgufTokenType;
    switch (type) {
      case GgufTokenType.Normal:
      case GgufTokenType.Byte:
      case GgufTokenType.Undefined:
        if (!seen.has(text)) vocab[text] = id;
        break;
      case GgufTokenType.Control:
      case GgufTokenType.Unknown:
      case GgufTokenType.UserDefined:
        added.push({
          id,
          content: text,
          single_word: false,
          lstrip: false,
          rstrip: false,
          normalized: false,
          special: type !== GgufTokenType.UserDefined,
        });
        break;
      case GgufTokenType.Unused:
        unusedIds.push(id);
        break;
      default:
        throw new ModelFormatError(`${source}: metadata 'tokenizer.ggml.token_type'[${id}] = ${String(type)} is not a known token type (0..6)`);
    }
    seen.add(text);
  }
  const json: Record<string, unknown> = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: preTokenizer,
    post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
  return { json, unusedIds };
}
