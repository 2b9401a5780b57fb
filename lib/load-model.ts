/** loadModel: open + validate a model's files in TS, then map them natively. */
import * as os from 'os';
import { pickDevice } from './device/select-device';
import { ArgumentError, callNative } from './errors';
import { intOption } from './int-option';
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
   * copy in GGUF block formats; the mapped float bytes are then no longer
   * referenced, so `model.memory().weights` shrinks. 'q4_k' is the Q4_K_M mix
   * (Q6_K for the embedding, LM head and some attn_v / ffn_down layers, Q4_K
   * elsewhere) with searched scales (docs/QUANTIZATION.md). A matrix whose row
   * length is not a multiple of 256 cannot be a K-quant and becomes Q8_0
   * instead (or stays as stored if the row is not a multiple of 32). Norms,
   * conv filters, SSM parameters and the MoE router stay f32; tensors a GGUF
   * already stores quantized are kept as they are.
   */
  quantize?: 'none' | 'q8_0' | 'q4_k';
  /**
   * The most bytes the model may hold in all: weights, recurrent state, KV
   * pages, prefix cache and scratch. A number of bytes or a string such as
   * '6GB' (GB = 10^9; GiB = 2^30; also KB/MB/TB, KiB/MiB/TiB). Default: the
   * model files' size plus 75% of the memory free at load
   * ({@link defaultMemoryBudget}). Past it, createSequence / eval fail with
   * OutOfMemoryError after evicting prefix-cache entries.
   */
  memoryBudget?: number | string;
  /** Most live sequences (createSequence beyond it throws OutOfMemoryError). Default 1024. */
  maxSequences?: number;
  /**
   * Element type of the attention KV cache: 'f16' (default; half the bytes of
   * 'f32'), 'f32', or 'q8_0' (8-bit with a scale per 32 values, ~28% of f32).
   * Backends without that type keep F32 and say so in model.deviceReason.
   * Tolerances against the f32 goldens: docs/MEMORY.md.
   */
  kvCacheType?: 'f16' | 'f32' | 'q8_0';
  /**
   * The prefix-state cache of generate / complete / chat on fresh sequences
   * (default on). `false` turns it off; an object sets its byte share of the
   * budget (default a quarter of what the weights leave) and the spacing of
   * its checkpoints in prompt tokens (default 256).
   */
  prefixCache?: boolean | { maxBytes?: number | string; chunkTokens?: number };
  /** Most sequences one step evaluates (default 64). */
  maxBatchSequences?: number;
  /** Called as loading advances (fraction in [0, 1]). */
  onProgress?: (progress: { phase: 'validate' | 'map' | 'ready'; fraction: number }) => void;
}

/**
 * Loads a Granite 4.0-H model from a `.gguf` file or a Hugging Face directory
 * (config.json + model.safetensors / sharded index); `'embedded'` loads the
 * small model shipped in the package (EMBEDDED_MODEL_PATH). Everything is validated
 * before the addon maps the files; the weights never enter the JS heap.
 */
export async function loadModel(path: string, options: LoadModelOptions = {}): Promise<Model> {
  if (typeof path !== 'string' || path.length === 0) {
    throw new ArgumentError(`Expected path to be a non-empty string, got ${typeof path}`);
  }
  const threads = intOption(options.threads, 'threads', 1, Math.min(1024, os.availableParallelism?.() ?? os.cpus().length), 1024);
  const pageSize = intOption(options.kvPageTokens, 'kvPageTokens', 1, 16, 4096);
  const maxStepTokens = intOption(options.maxStepTokens, 'maxStepTokens', 1, 512);
  const quantize = options.quantize ?? 'none';
  if (quantize !== 'none' && quantize !== 'q8_0' && quantize !== 'q4_k') {
    throw new ArgumentError(`Expected quantize to be 'none', 'q8_0' or 'q4_k', got ${String(options.quantize)}`);
  }
  const maxBatchSequences = intOption(options.maxBatchSequences, 'maxBatchSequences', 1, 64);
  const maxSequences = intOption(options.maxSequences, 'maxSequences', 1, 1024);
  const kvCacheType = options.kvCacheType ?? 'f16';
  if (kvCacheType !== 'f16' && kvCacheType !== 'f32' && kvCacheType !== 'q8_0') {
    throw new ArgumentError(`Expected kvCacheType to be 'f16', 'f32' or 'q8_0', got ${String(options.kvCacheType)}`);
  }
  const cacheOpt = options.prefixCache ?? true;
  if (typeof cacheOpt !== 'boolean' && (cacheOpt === null || typeof cacheOpt !== 'object')) {
    throw new ArgumentError(`Expected prefixCache to be a boolean or an object, got ${String(cacheOpt)}`);
  }
  const chunkTokens = intOption(typeof cacheOpt === 'object' ? cacheOpt.chunkTokens : undefined, 'prefixCache.chunkTokens', 1, 256);
  const requestedBudget = options.memoryBudget === undefined ? undefined : parseBytes(options.memoryBudget, 'memoryBudget');
  const { device, reason } = await pickDevice(options.device);
  options.onProgress?.({ phase: 'validate', fraction: 0 });
  const files = await openModelFiles(path);
  const memoryBudget = requestedBudget ?? defaultMemoryBudget(files.fileSizes);
  const cacheBytes =
    cacheOpt === false
      ? 0
      : typeof cacheOpt === 'object' && cacheOpt.maxBytes !== undefined
        ? parseBytes(cacheOpt.maxBytes, 'prefixCache.maxBytes')
        : Math.floor(Math.max(0, memoryBudget - sum(files.fileSizes)) / 4);
  options.onProgress?.({ phase: 'map', fraction: 0.5 });
  const handle = await callNative(() =>
    native().loadModel({
      ...nativeModelSpec(files),
      threads,
      pageSize,
      device,
      quantize,
      memoryBudget,
      maxSequences,
      kvCacheType,
      prefixCacheBytes: cacheBytes,
      prefixChunkTokens: chunkTokens,
    }),
  );
  // A model without a usable tokenizer still runs on token ids; model.tokenizer reports why.
  const tokenizer = await loadTokenizer(files).catch((err: Error) => err);
  options.onProgress?.({ phase: 'ready', fraction: 1 });
  return new Model(handle, files, device, reason, { maxStepTokens, maxBatchSequences }, tokenizer, cacheBytes > 0);
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** The memoryBudget used when none is given: the model files' size plus 75% of the memory free now. */
export function defaultMemoryBudget(fileSizes: readonly number[]): number {
  return sum(fileSizes) + Math.floor(os.freemem() * 0.75);
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** Bytes from a number or a string like '6GB', '512 MiB' (GB = 10^9, GiB = 2^30). */
export function parseBytes(v: number | string, what: string): number {
  if (typeof v === 'number') {
    if (Number.isFinite(v) && v > 0) return Math.floor(v);
  } else if (typeof v === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?\s*$/i.exec(v);
    if (m) {
      const bytes = Math.floor(Number(m[1]) * UNITS[(m[2] ?? '').toLowerCase()]);
      if (bytes > 0) return bytes;
    }
  }
  throw new ArgumentError(`Expected ${what} to be a positive number of bytes or a string like '6GB', got ${JSON.stringify(v)}`);
}
