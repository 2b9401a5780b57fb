/**
 * Model location and validation: {@link openModelFiles} turns a path into a
 * validated {@link ModelFiles} (frozen config + canonical tensor table) that
 * the addon can memory-map. Nothing is allocated from a file before its
 * header, config and tensor table have been checked.
 */
import { promises as fsp } from 'node:fs';
import * as nodePath from 'node:path';
import { resolveModelPath } from '../embedded';
import { ModelFormatError } from '../errors';
import { configFromGguf, configFromHf } from './config';
import { ggufPlainValue, readGguf } from './gguf';
import { readJsonFile } from './read-json';
import { readSafetensorsIndex, readSafetensorsSingle } from './safetensors';
import { tensorTableFromGguf, tensorTableFromSafetensors } from './tensor-table';
import { ModelFiles } from './types';

export type { LayerKind, ModelConfig, ModelFiles, TensorEntry } from './types';
export { TensorType } from './types';

const GGUF_MAGIC = Buffer.from('GGUF', 'latin1');

/**
 * Opens a model: `path` is a GGUF file (recognised by its magic, not its
 * extension), a Hugging Face directory (`config.json` + `model.safetensors` or
 * `model.safetensors.index.json`), a directory holding exactly one `.gguf`, or
 * 'embedded' (the model shipped in the package).
 * Reads headers only. Throws ModelFormatError (not found, not a model,
 * malformed, missing tensor), ShapeError (a tensor's shape contradicts the
 * config) or UnsupportedError (another architecture, RoPE, a tensor type not
 * run yet), each naming the file and the tensor or field.
 */
export async function openModelFiles(path: string): Promise<ModelFiles> {
  const abs = nodePath.resolve(resolveModelPath(path));
  const st = await statOrNull(abs);
  if (!st) throw new ModelFormatError(`${abs}: no such file or directory`);
  if (st.isDirectory()) return openDirectory(abs);
  if (!st.isFile()) throw new ModelFormatError(`${abs}: not a file or directory`);
  if (await hasGgufMagic(abs)) return openGguf(abs);
  throw new ModelFormatError(
    `${abs}: not a model (expected a GGUF file or a Hugging Face directory with config.json and *.safetensors)`,
  );
}

async function statOrNull(path: string) {
  try {
    return await fsp.stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new ModelFormatError(`${path}: cannot stat (${(err as Error).message})`, { cause: err });
  }
}

async function hasGgufMagic(path: string): Promise<boolean> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(path, 'r');
    const buf = Buffer.alloc(4);
    const { bytesRead } = await fh.read(buf, 0, 4, 0);
    return bytesRead === 4 && buf.equals(GGUF_MAGIC);
  } catch (err) {
    throw new ModelFormatError(`${path}: cannot read (${(err as Error).message})`, { cause: err });
  } finally {
    await fh?.close();
  }
}

async function openGguf(path: string): Promise<ModelFiles> {
  const gguf = await readGguf(path);
  const config = configFromGguf(gguf);
  const tensors = tensorTableFromGguf(gguf, config);
  const metadata: Record<string, unknown> = {};
  for (const kv of gguf.kv) metadata[kv.key] = ggufPlainValue(kv.value);
  return Object.freeze({
    format: 'gguf',
    files: Object.freeze([path]),
    fileSizes: Object.freeze([gguf.fileSize]),
    config,
    tensors,
    metadata: Object.freeze(metadata),
  });
}

async function openDirectory(dir: string): Promise<ModelFiles> {
  const names = await fsp.readdir(dir).catch((err: Error) => {
    throw new ModelFormatError(`${dir}: cannot list directory (${err.message})`, { cause: err });
  });
  const has = (n: string) => names.includes(n);
  const hasWeights = has('model.safetensors') || has('model.safetensors.index.json');
  if (has('config.json') && hasWeights) return openHf(dir);
  const ggufs = names.filter((n) => n.toLowerCase().endsWith('.gguf')).sort();
  if (ggufs.length === 1) {
    const file = nodePath.join(dir, ggufs[0]);
    if (!(await statOrNull(file))?.isFile()) throw new ModelFormatError(`${file}: not a regular file`);
    if (!(await hasGgufMagic(file))) throw new ModelFormatError(`${file}: not a GGUF file (bad magic)`);
    return openGguf(file);
  }
  if (ggufs.length > 1) {
    throw new ModelFormatError(`${dir}: holds several GGUF files (${ggufs.join(', ')}); pass the path of one`);
  }
  if (has('config.json')) {
    throw new ModelFormatError(`${dir}: has config.json but no model.safetensors or model.safetensors.index.json`);
  }
  throw new ModelFormatError(`${dir}: not a model directory (no config.json + model.safetensors, no .gguf file)`);
}

async function openHf(dir: string): Promise<ModelFiles> {
  const configPath = nodePath.join(dir, 'config.json');
  const config = configFromHf(await readJsonFile(configPath, { maxBytes: 16 << 20, allowNonFinite: true }), configPath);
  const indexPath = nodePath.join(dir, 'model.safetensors.index.json');
  const singlePath = nodePath.join(dir, 'model.safetensors');
  const sharded = (await statOrNull(indexPath)) !== null;
  const set = sharded ? await readSafetensorsIndex(indexPath) : await readSafetensorsSingle(singlePath);
  const tensors = tensorTableFromSafetensors(set, config, sharded ? indexPath : singlePath);

  const metadata: Record<string, unknown> = {};
  const tokenizerConfigPath = nodePath.join(dir, 'tokenizer_config.json');
  if (await statOrNull(tokenizerConfigPath)) {
    const tc = await readJsonFile(tokenizerConfigPath);
    if (typeof tc !== 'object' || tc === null || Array.isArray(tc)) {
      throw new ModelFormatError(`${tokenizerConfigPath}: not a JSON object`);
    }
    Object.assign(metadata, tc);
  }
  const tokenizerJsonPath = nodePath.join(dir, 'tokenizer.json');
  if (await statOrNull(tokenizerJsonPath)) metadata.tokenizerJsonPath = tokenizerJsonPath;

  return Object.freeze({
    format: 'safetensors',
    files: Object.freeze(set.files.map((f) => f.path)),
    fileSizes: Object.freeze(set.files.map((f) => f.fileSize)),
    config,
    tensors,
    metadata: Object.freeze(metadata),
  });
}
