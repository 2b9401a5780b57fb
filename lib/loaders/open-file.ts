/** Opens a model file for bounded reads, with typed errors naming the path. */
import * as fsp from 'fs/promises';
import { ModelFormatError } from '../errors';

/**
 * Runs `read(fh, fileSize)` on `path` opened read-only and closes it after.
 * Throws ModelFormatError when the path cannot be opened or is not a regular file.
 */
export async function withModelFile<T>(
  path: string,
  read: (fh: fsp.FileHandle, fileSize: number) => Promise<T>,
): Promise<T> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(path, 'r');
  } catch (err) {
    throw new ModelFormatError(`${path}: cannot open (${(err as Error).message})`, { cause: err });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new ModelFormatError(`${path}: not a regular file`);
    return await read(fh, st.size);
  } finally {
    await fh.close();
  }
}
