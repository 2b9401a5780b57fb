/**
 * The whole addon surface, typed. lib/native.ts is the only loader; every
 * other module goes through these types.
 */
import type { ModelDims } from './loaders/model-dims';
import type { TensorEntry } from './loaders/types';
import type { NativeKernelAddon } from './native-kernel-types';
import type { SamplingParams } from './generate/sampling';

/** CPU features the addon detected at load. */
export interface NativeCpuInfo {
  arch: string;
  avx2: boolean;
  fma: boolean;
  f16c: boolean;
  avx512f: boolean;
  avx512bw: boolean;
  avx512vnni: boolean;
  avx512bf16: boolean;
  neon: boolean;
  dotprod: boolean;
  threads: number;
  /** The SIMD path the kernels run ('scalar' | 'avx2' | 'avx512' | 'neon'); HYBRIDLM_CPU caps it. */
  simd: string;
}

/** One row of the addon's weight-type table (native/core/dtype.h). */
export interface NativeDTypeLayout {
  id: number;
  name: string;
  blockSize: number;
  blockBytes: number;
}

export interface NativeAddon extends NativeKernelAddon, NativeModelAddon, NativeSamplerAddon {
  /** The weight types the kernels run: GGUF id, name, block layout. */
  dtypes(): NativeDTypeLayout[];
  cpuInfo(): NativeCpuInfo;
  cudaAvailable(): boolean;
  /** Whether the CUDA library loaded and sees a device, and if not why. Opens the library on first call. */
  cudaStatus(): NativeCudaStatus;
  /** The CUDA library the first cudaStatus() opens (lib/device/); false when that already ran. */
  cudaUseLibrary(path: string): boolean;
}

/** Result of the CUDA probe (native/cuda/cuda_backend.cpp). */
export interface NativeCudaStatus {
  available: boolean;
  /** Why CUDA is unavailable, or the device name. */
  reason: string;
  /** Path of the CUDA library that was opened ('' if none). */
  library: string;
  devices: number;
  /** CUDA driver version, e.g. 13000 (0 when unknown). */
  driverVersion: number;
  /** CUDA runtime version the library was built with (0 when unknown). */
  runtimeVersion: number;
  /** The visible GPUs. */
  gpus: NativeGpuInfo[];
}

/** One visible GPU. */
export interface NativeGpuInfo {
  name: string;
  /** e.g. '9.0' */
  computeCapability: string;
  totalMemory: number;
}

/** What loadModel hands the addon: the loader's validated table, plus run options. */
export interface NativeLoadSpec {
  files: readonly string[];
  fileSizes: readonly number[];
  /** The validated config in kernel vocabulary (lib/loaders/model-dims.ts). */
  dims: ModelDims;
  tensors: readonly TensorEntry[];
  threads: number;
  /** Backend to run on. */
  device: 'cpu' | 'cuda';
  /** Tokens per KV page. */
  pageSize: number;
  /** Quantize float matrices on load ('none' when absent). */
  quantize?: 'none' | 'q8_0' | 'q4_k';
  /** Most bytes the model may hold (weights, state, KV, prefix cache, scratch). */
  memoryBudget?: number;
  maxSequences?: number;
  /** Default 'f16'. */
  kvCacheType?: 'f16' | 'f32' | 'q8_0';
  /** Byte share of the budget for the prefix cache (0 or absent: off). */
  prefixCacheBytes?: number;
  /** Prefix-cache checkpoints every this many prompt tokens (default 256). */
  prefixChunkTokens?: number;
}

/** Bytes the native side holds for one model (native/state/state_pool.h). */
export interface NativeMemory {
  weights: number;
  /** Weight bytes copied into device memory (0 on CPU). */
  deviceWeights: number;
  /** Weights (+ device copies) and step scratch, counted against the budget. */
  fixed: number;
  recurrentState: number;
  kvCache: number;
  kvPages: number;
  kvPageBytes: number;
  kvPageTokens: number;
  prefixCache: number;
  pooled: number;
  total: number;
  budget: number;
  sequences: number;
  recurrentBytesPerSequence: number;
  prefixChunkTokens: number;
  kvCacheType: 'f16' | 'f32' | 'q8_0';
  /** Why kvCacheType differs from the requested type ('' when it does not). */
  kvNote: string;
  threads: number;
}

/** Prefix-cache counters (native/state/prefix_cache.h). */
export interface NativePrefixCacheStats {
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
  tokensReused: number;
}

/** One loaded model (native/binding/model_handle.cpp ModelHandle). */
export interface NativeModelHandle {
  /**
   * One forward step over a ragged batch; resolves per sequence its [rows, vocab]
   * logits, for a row `sampling` gives a sampler the token sampled natively from
   * its last logits row, or the error that left it out (it is then as before its
   * eval). flags: STEP_FLAGS bits.
   */
  step(
    seqIds: Int32Array,
    counts: Int32Array,
    tokens: Int32Array,
    flags: Uint8Array,
    sampling?: NativeRowSampling,
  ): Promise<Array<Float32Array | NativeSampledRow | Error>>;
  /** O(1): the slot is taken and zeroed by the first step. Throws OutOfMemoryError over budget / maxSequences. */
  createSequence(): number;
  /** A new sequence restored from the longest cached prefix of tokens[0, n - 1). */
  createSequenceFromPrefix(tokens: Int32Array): Promise<{ id: number; restored: number }>;
  /** Puts a sequence back to the start of its unfinished eval. */
  rollbackSequence(id: number): void;
  prefixCacheStats(): NativePrefixCacheStats;
  clearPrefixCache(): void;
  /** Test hook: the next step throws after `layers` layers. */
  failNextStep(layers: number): void;
  /** Test hook: prefill steps whose longest sequence brings >= minTokens new tokens use the chunked scan with chunks of `chunk` tokens. */
  setScanPolicy(minTokens: number, chunk: number): void;
  forkSequence(id: number): Promise<number>;
  disposeSequence(id: number): void;
  snapshotSequence(id: number): Promise<Buffer>;
  restoreSequence(bytes: Uint8Array): Promise<number>;
  sequencePosition(id: number): number;
  memory(): NativeMemory;
  /** Native forward steps run so far (concurrent evals that shared a step count once). */
  stepCount(): number;
  /** Thread-pool fork/joins the model's backend has run so far (0 where it has no pool): per-token counts in tests and benchmarks. */
  parallelRegionCount(): number;
  dispose(): void;
}

/** Bits of NativeModelHandle.step's flags. */
export const STEP_FLAGS = {
  allLogits: 1,
  /** First chunk of a multi-token eval: checkpoint before it. */
  beginEval: 2,
  /** Last chunk of its eval: drop the checkpoint after it. */
  endEval: 4,
  /** Store prefix-cache checkpoints at chunk ends aligned to the cache chunk. */
  cachePrefix: 8,
  /** The chunk ends a prompt (prefix-cache checkpoint there too). */
  promptEnd: 16,
} as const;

/** Model/sequence functions (native/binding/model_handle.cpp). */
export interface NativeModelAddon {
  loadModel(spec: NativeLoadSpec): Promise<NativeModelHandle>;
}

/** What `new SamplerHandle(...)` takes: SamplingParams with the bias flattened into typed arrays. */
export interface NativeSamplerParams extends Omit<SamplingParams, 'bias'> {
  vocab: number;
  biasIds: Int32Array;
  biasValues: Float64Array;
  banned: Int32Array;
}

/** One native sampler: parameters plus its generator (native/binding/sampler_handle.cpp). */
export interface NativeSamplerHandle {
  readonly vocab: number;
}

/** Which rows of a batch to sample natively, and how (native/binding/sampler_handle.h RowSampling). */
export interface NativeRowSampling {
  /** One per row; null: the row is not sampled. */
  samplers: ReadonlyArray<NativeSamplerHandle | null>;
  /** Tokens of `history` per row (the penalty window). */
  historyCounts: Int32Array;
  history: Int32Array;
  /** -1: no logprobs; else the chosen token's logprob and topN alternatives. */
  topN: number;
}

/** A row sampled natively. */
export interface NativeSampledRow {
  token: number;
  /** With topN >= 0. */
  logprob?: number;
  /** With topN > 0: the most likely ids and their logprobs, most likely first. */
  topIds?: Int32Array;
  topLogprobs?: Float64Array;
}

/** Native sampling (native/binding/sampler_handle.cpp). */
export interface NativeSamplerAddon {
  SamplerHandle: new (params: NativeSamplerParams) => NativeSamplerHandle;
  /** Samples every row (each must have a sampler), off the JS thread. */
  sampleBatch(logits: readonly Float32Array[], sampling: NativeRowSampling): Promise<NativeSampledRow[]>;
}
