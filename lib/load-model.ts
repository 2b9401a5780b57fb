/** loadModel: open + validate a model's files in TS, then map them natively. */
import * as os from 'os';
import { pickDevice } from './device/select-device';
import { ArgumentError, callNative } from './errors';
import { openModelFiles } from './loaders';
import { nativeModelSpec } from './loaders/model-dims';
import { Model } from './model';
import { native } from './native';
import { loadTokenizer } from './tokenizer/load-tokenizer';

/** Options of {@link loadModel}. */
export interface LoadModelOptions {
  /**
   * 'cpu', 'cuda' (throws DeviceError when unavailable) or 'auto' (CUDA when a
   * CUDA library is installed and its probe and self-test pass, else CPU; the
   * reason is in `model.deviceReason`). Default 'auto'; HYBRIDLM_DEVICE=cpu
   * makes 'auto' pick the CPU.
   */
  device?: 'auto' | 'cpu' | 'cuda';
  /** Compute threads. Default: the machine's available parallelism. */
  threads?: number;
  /** Tokens per KV-cache page. Default 16. */
  kvPageTokens?: number;
  /**
   * Most tokens one native step evaluates (default 512). Longer prefills are
   * split into chunks so other sequences' decodes interleave with them.
   */
  maxStepTokens?: number;
  /**
   * Quantize the weight matrices while loading (default 'none': use them as
   * stored). 'q8_0' or 'q4_k' converts every F32/F16/BF16 matrix (projections,
   * MLPs, experts, embedding / LM head) once, off the JS thread, into an owned
   * copy in that GGUF block format; the mapped float bytes are then no longer
   * referenced, so `model.memory().weights` shrinks. A matrix whose row length
   * is not a multiple of 256 cannot be Q4_K and becomes Q8_0 instead (or stays
   * as stored if the row is not a multiple of 32). Norms, conv filters, SSM
   * parameters and the MoE router stay f32; tensors a GGUF already stores
   * quantized are kept as they are.
   */
  quantize?: 'none' | 'q8_0' | 'q4_k';
  /** Called as loading advances (fraction in [0, 1]). */
  onProgress?: (progress: { phase: 'validate' | 'map' | 'ready'; fraction: number }) => void;
}

/**
 * Loads a Granite 4.0-H model from a `.gguf` file or a Hugging Face directory
 * (config.json + model.safetensors / sharded index). Everything is validated
 * before the addon maps the files; the weights never enter the JS heap.
 */
export async function loadModel(path: string, options: LoadModelOptions = {}): Promise<Model> {
  if (typeof path !== 'string' || path.length === 0) {
    throw new ArgumentError(`Expected path to be a non-empty string, got ${typeof path}`);
  }
  const threads = options.threads ?? (os.availableParallelism?.() ?? os.cpus().length);
  if (!Number.isInteger(threads) || threads < 1 || threads > 1024) {
    throw new ArgumentError(`Expected threads to be an integer in [1, 1024], got ${String(options.threads)}`);
  }
  const pageSize = options.kvPageTokens ?? 16;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 4096) {
    throw new ArgumentError(`Expected kvPageTokens to be an integer in [1, 4096], got ${String(options.kvPageTokens)}`);
  }
  const maxStepTokens = options.maxStepTokens ?? 512;
  if (!Number.isInteger(maxStepTokens) || maxStepTokens < 1) {
    throw new ArgumentError(`Expected maxStepTokens to be a positive integer, got ${String(options.maxStepTokens)}`);
  }
  const quantize = options.quantize ?? 'none';
  if (quantize !== 'none' && quantize !== 'q8_0' && quantize !== 'q4_k') {
    throw new ArgumentError(`Expected quantize to be 'none', 'q8_0' or 'q4_k', got ${String(options.quantize)}`);
  }
  const { device, reason } = await pickDevice(options.device);
  options.onProgress?.({ phase: 'validate', fraction: 0 });
  const files = await openModelFiles(path);
  options.onProgress?.({ phase: 'map', fraction: 0.5 });
  const handle = await callNative(() =>
    native().loadModel({
      ...nativeModelSpec(files),
      threads,
      pageSize,
      device,
      quantize,
    }),
  );
  // A model without a usable tokenizer still runs on token ids; model.tokenizer reports why.
  const tokenizer = await loadTokenizer(files).catch((err: Error) => err);
  options.onProgress?.({ phase: 'ready', fraction: 1 });
  return new Model(handle, files, device, reason, maxStepTokens, tokenizer);
}
