/**
 * Which model a command runs when the model argument is optional: an explicit
 * --model, else a leading argument that names a model, else the embedded one.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { EMBEDDED_MODEL_NAME } from '../embedded';

/** Help text of a model argument or option that may be left out. */
export const MODEL_HELP = `a .gguf file, a Hugging Face model directory, or '${EMBEDDED_MODEL_NAME}' (the default: the small model shipped in the package)`;

/**
 * True when `arg` names a model rather than starting a prompt: 'embedded', a
 * path that exists, or something shaped like a path (ends in .gguf, or holds a
 * path separator) so that a missing file is reported rather than prompted.
 */
export function looksLikeModel(arg: string): boolean {
  if (arg === EMBEDDED_MODEL_NAME) return true;
  if (/\.gguf$/i.test(arg) || arg.includes('/') || arg.includes(nodePath.sep)) return true;
  try {
    fs.statSync(arg);
    return !/\s/.test(arg);
  } catch {
    return false;
  }
}

/** Splits `[model] [prompt...]` arguments: { model, rest }; --model wins over a leading argument. */
export function modelAndRest(args: readonly string[], explicit: unknown): { model: string; rest: string[] } {
  if (typeof explicit === 'string') return { model: explicit, rest: [...args] };
  if (args.length > 0 && looksLikeModel(args[0])) return { model: args[0], rest: args.slice(1) };
  return { model: EMBEDDED_MODEL_NAME, rest: [...args] };
}
