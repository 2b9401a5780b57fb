/** The served model id when none is given: the file name without extension, or the folder name for `model.*` files and model directories. */
import * as fs from 'node:fs';
import * as path from 'node:path';

export function defaultModelNameOfPath(modelPath: string): string {
  let file = modelPath.replace(/[\\/]+$/, '');
  try {
    if (fs.statSync(file).isDirectory()) return path.basename(file);
  } catch {
    // not there yet: the loader reports it
  }
  const base = path.basename(file).replace(/\.(gguf|safetensors)$/i, '');
  file = path.resolve(file);
  return base === 'model' || /^model-\d+-of-\d+$/.test(base) ? path.basename(path.dirname(file)) : base;
}
