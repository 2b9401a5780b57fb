/**
 * Types of the addon's standalone kernel functions (native/binding/kernels.cpp).
 * Each validates its arguments (throwing synchronously with a string `code`),
 * copies them, and resolves off the JS thread with fresh arrays; `device` in
 * the options picks the backend whose op table runs it. Shapes are
 * row-major, outermost first; `cuSeqlens` are int32 token offsets [nSeqs + 1]
 * of packed sequences. Weight dtypes are GGUF `ggml_type` ids (0 F32, 1 F16,
 * 8 Q8_0, 30 BF16) and weight buffers are their raw bytes.
 */

/** Final conv or SSM states, one block per sequence. */
export interface NativeConvResult {
  /** [nTokens, channels] */
  out: Float32Array;
  /** [nSeqs, dConv - 1, channels] */
  states: Float32Array;
}

/** Scan output plus final states. */
export interface NativeSsmResult {
  /** [nTokens, nHeads, headDim] */
  y: Float32Array;
  /** [nSeqs, nHeads, headDim, dState] */
  states: Float32Array;
}

/** Top-k routing. */
export interface NativeRouteResult {
  /** [nTokens, topK] expert ids, largest logit first */
  ids: Int32Array;
  /** [nTokens, topK] softmax over the selected logits */
  weights: Float32Array;
}

/** Activations rounded for the int8 matmul paths (quantizeActivations). */
export interface NativeQuantizedActivations {
  /** [nTokens, K] round_half_even(x / d) in [-127, 127] */
  q: Int8Array;
  /** [nTokens, K / block] d = absmax / 127 per block */
  d: Float32Array;
  /** [nTokens, K / 16] d times the sum of q per 16 values */
  sum16: Float32Array;
  /** [nTokens, K / 32] d times the sum of q per 32 values */
  sum32: Float32Array;
}

/** Where a kernel runs: 'cpu' (default) or 'cuda' (DeviceError naming the reason when unavailable). */
export interface NativeDeviceOption {
  device?: 'cpu' | 'cuda';
}

export interface NativeKernelAddon {
  /** x [nTokens, dim], weight [dim] -> y [nTokens, dim]. eps defaults to 1e-5. */
  rmsNorm(x: Float32Array, weight: Float32Array, nTokens: number, dim: number, opts?: { eps?: number } & NativeDeviceOption): Promise<Float32Array>;
  /** x, z [nTokens, dim], weight [dim]; y = groupnorm(x * silu(z)) * weight. */
  gatedRmsNorm(
    x: Float32Array,
    z: Float32Array,
    weight: Float32Array,
    nTokens: number,
    dim: number,
    opts?: { eps?: number; nGroups?: number } & NativeDeviceOption,
  ): Promise<Float32Array>;
  /** x [nTokens, channels], weight [channels, dConv]; states [nSeqs, dConv-1, channels] (zeros if absent). */
  conv1dPrefill(
    x: Float32Array,
    weight: Float32Array,
    cuSeqlens: Int32Array,
    nTokens: number,
    channels: number,
    dConv: number,
    opts?: { bias?: Float32Array | null; states?: Float32Array | null } & NativeDeviceOption,
  ): Promise<NativeConvResult>;
  /** One token per sequence: x [nSeqs, channels]. */
  conv1dStep(
    x: Float32Array,
    weight: Float32Array,
    states: Float32Array | null,
    nSeqs: number,
    channels: number,
    dConv: number,
    opts?: { bias?: Float32Array | null } & NativeDeviceOption,
  ): Promise<NativeConvResult>;
  /**
   * x [nTokens, nHeads, headDim], dt [nTokens, nHeads], A [nHeads], B, C [nTokens, nGroups, dState];
   * states [nSeqs, nHeads, headDim, dState] (zeros if absent); chunkSize 0 = recurrence.
   */
  ssmScan(
    x: Float32Array,
    dt: Float32Array,
    A: Float32Array,
    B: Float32Array,
    C: Float32Array,
    cuSeqlens: Int32Array,
    nTokens: number,
    nHeads: number,
    headDim: number,
    dState: number,
    nGroups: number,
    opts?: { D?: Float32Array | null; dtBias?: Float32Array | null; states?: Float32Array | null; chunkSize?: number } & NativeDeviceOption,
  ): Promise<NativeSsmResult>;
  /** One token per sequence: x [nSeqs, nHeads, headDim], ... */
  ssmStep(
    x: Float32Array,
    dt: Float32Array,
    A: Float32Array,
    B: Float32Array,
    C: Float32Array,
    states: Float32Array | null,
    nSeqs: number,
    nHeads: number,
    headDim: number,
    dState: number,
    nGroups: number,
    opts?: { D?: Float32Array | null; dtBias?: Float32Array | null } & NativeDeviceOption,
  ): Promise<NativeSsmResult>;
  /**
   * Causal attention: q [nQ, nHeads, headDim], k, v [nKv, nKvHeads, headDim]; sequence s's
   * queries are the last positions of its context. pageSize > 0 runs through a paged pool
   * whose pages hold kvDtype elements (default 'f32').
   */
  attention(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    qCuSeqlens: Int32Array,
    kvCuSeqlens: Int32Array,
    nHeads: number,
    nKvHeads: number,
    headDim: number,
    opts?: { scale?: number; pageSize?: number; kvDtype?: 'f32' | 'f16' | 'q8_0' } & NativeDeviceOption,
  ): Promise<Float32Array>;
  /** x [nTokens, cols], weight [rows, cols] in `dtype` -> y [nTokens, rows]. */
  matmul(
    x: Float32Array,
    weight: ArrayBufferView,
    nTokens: number,
    rows: number,
    cols: number,
    dtype: number,
    opts?: NativeDeviceOption,
  ): Promise<Float32Array>;
  /** ids [nTokens] < vocab, weight [vocab, dim] -> [nTokens, dim] * scale. */
  embed(
    ids: Int32Array,
    weight: ArrayBufferView,
    vocab: number,
    dim: number,
    dtype: number,
    opts?: { scale?: number } & NativeDeviceOption,
  ): Promise<Float32Array>;
  /** silu(gate) * up, both [nTokens, n]. */
  swiglu(gate: Float32Array, up: Float32Array, nTokens: number, n: number, opts?: NativeDeviceOption): Promise<Float32Array>;
  /** logits [nTokens, nExperts] -> top-k ids and softmax weights. */
  moeRoute(logits: Float32Array, nTokens: number, nExperts: number, topK: number, opts?: NativeDeviceOption): Promise<NativeRouteResult>;
  /** gate, up [nExperts, dFf, dModel], down [nExperts, dModel, dFf] -> [nTokens, dModel]. */
  moeForward(
    x: Float32Array,
    ids: Int32Array,
    weights: Float32Array,
    gate: ArrayBufferView,
    up: ArrayBufferView,
    down: ArrayBufferView,
    nTokens: number,
    topK: number,
    nExperts: number,
    dModel: number,
    dFf: number,
    gateType: number,
    upType: number,
    downType: number,
    opts?: NativeDeviceOption,
  ): Promise<Float32Array>;
  /**
   * Test hook, synchronous, CPU: x [nTokens, K] rounded to int8 blocks of
   * `block` (32 or 256) values on the active SIMD path, as the block-format
   * matmuls see them. K a multiple of block.
   */
  quantizeActivations(x: Float32Array, nTokens: number, K: number, block: 32 | 256): NativeQuantizedActivations;
}
