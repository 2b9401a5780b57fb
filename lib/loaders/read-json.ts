/**
 * Bounded JSON file reading for the loaders: config.json, tokenizer_config.json,
 * model.safetensors.index.json. Failures become ModelFormatError naming the file.
 */
import { promises as fsp } from 'node:fs';
import { ModelFormatError } from '../errors';

/** Options of {@link readJsonFile}. */
export interface ReadJsonOptions {
  /** Largest accepted file, in bytes. Default 64 MiB. */
  readonly maxBytes?: number;
  /**
   * Accept Python's non-standard `Infinity`, `-Infinity` and `NaN` literals
   * (json.dumps writes them, e.g. `time_step_limit: [0.0, Infinity]`). Default false.
   */
  readonly allowNonFinite?: boolean;
}

/** Reads and parses a JSON file; the result is untyped, validate it. */
export async function readJsonFile(path: string, options: ReadJsonOptions = {}): Promise<unknown> {
  const maxBytes = options.maxBytes ?? 64 << 20;
  let text: string;
  try {
    const st = await fsp.stat(path);
    if (!st.isFile()) throw new ModelFormatError(`${path}: not a regular file`);
    if (st.size > maxBytes) throw new ModelFormatError(`${path}: ${st.size} bytes, larger than the limit of ${maxBytes}`);
    text = await fsp.readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof ModelFormatError) throw err;
    throw new ModelFormatError(`${path}: cannot read (${(err as Error).message})`, { cause: err });
  }
  try {
    return JSON.parse(options.allowNonFinite ? replaceNonFiniteLiterals(text) : text);
  } catch (err) {
    throw new ModelFormatError(`${path}: invalid JSON (${(err as Error).message})`, { cause: err });
  }
}

/**
 * Rewrites bare `Infinity` / `-Infinity` / `NaN` tokens outside strings into
 * JSON that parses to the same value (`1e999` parses to Infinity; NaN → null).
 */
function replaceNonFiniteLiterals(text: string): string {
  let out = '';
  let last = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') {
      inString = true;
    } else if (text.startsWith('Infinity', i)) {
      out += text.slice(last, i) + '1e999';
      i += 'Infinity'.length - 1;
      last = i + 1;
    } else if (text.startsWith('NaN', i)) {
      out += text.slice(last, i) + 'null';
      i += 'NaN'.length - 1;
      last = i + 1;
    }
  }
  return out + text.slice(last);
}
