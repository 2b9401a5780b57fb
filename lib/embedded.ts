/**
 * The model shipped inside the package: granite-h-nano, a ~2M-parameter
 * Granite 4.0-H-shaped model (Mamba-2 + attention + MoE) trained on the King
 * James Bible, so hybridlm writes real words right after `npm install`, with
 * no download (models/granite-h-nano/README.md says how it was made).
 */
import * as nodePath from 'node:path';

/** The name that stands for the embedded model wherever a model path is taken. */
export const EMBEDDED_MODEL_NAME = 'embedded';

/** Directory of the embedded model (Hugging Face files and both GGUFs). */
export const EMBEDDED_MODEL_DIR = nodePath.resolve(__dirname, '..', 'models', 'granite-h-nano');

/** The embedded model's F16 GGUF: what `loadModel('embedded')` opens. */
export const EMBEDDED_MODEL_PATH = nodePath.join(EMBEDDED_MODEL_DIR, 'granite-h-nano-f16.gguf');

/** `path`, or the embedded model's path when `path` is {@link EMBEDDED_MODEL_NAME}. */
export function resolveModelPath(path: string): string {
  return path === EMBEDDED_MODEL_NAME ? EMBEDDED_MODEL_PATH : path;
}
