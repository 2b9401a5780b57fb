/**
 * Synthetic Granite 4.0-H GGUFs: random weights with a real model's shapes,
 * written as a `granitehybrid` GGUF that loadModel reads like a released one.
 * Weights are scaled (uniform, variance 1/fan_in) so activations stay sane.
 */
import { ggmlTypeId } from '../dtype';
import { Tensor, type TensorDType, tensorByteLength } from '../tensor';
import { writeGguf, type GgufMetaValue, type GgufTensorSource } from '../writers/gguf-writer';
import type { ModelShape } from './shapes';
import { byteLevelChars } from '../tokenizer/byte-level';
import { q4KMix } from '../quant/q4-k-m-mix';

/**
 * Weight type of a synthetic model's matrices: one tensor dtype for all of
 * them, or 'q4_k_m', the mix GGUF's Q4_K_M names (lib/quant/q4-k-m-mix.ts,
 * the mix quantize: 'q4_k' applies on load): Q4_K everywhere except Q6_K for
 * the embedding and for attn_v / ffn_down on the "more bits" layers (the first
 * and last eighth, and every third layer in between).
 */
export type SyntheticDType = TensorDType | 'q4_k_m';

/** Options of {@link writeSyntheticGguf}. */
export interface SyntheticModelOptions {
  /** Type of the big matrices (norms, conv, A, D, dt bias and router stay F32). Default 'f16'. */
  dtype?: SyntheticDType;
  /** PRNG seed. Default 1. */
  seed?: number;
  /** Keep only the first n layers (default: all). */
  layers?: number;
  /**
   * Add a placeholder byte-level BPE vocabulary (`tokenizer.ggml.*`: the 256
   * byte tokens, then `<t N>` names, no merges) so engines that insist on a
   * tokenizer (llama.cpp) load the file; token ids are all a benchmark needs.
   * Default false.
   */
  withTokenizer?: boolean;
  /**
   * Quantize every matrix to its dtype, then store the decoded values as F32:
   * the float model of exactly the quantized weights (the reference a
   * quantized model is checked against). Default false.
   */
  storeDequantized?: boolean;
}

function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** GGUF general.file_type ids (llama.cpp's LLAMA_FTYPE_MOSTLY_*). */
const FILE_TYPE: Record<SyntheticDType, number> = {
  f32: 0, f16: 1, q4_0: 2, q8_0: 7, q4_k: 14, q5_k: 16, q6_k: 18, q4_k_m: 15, bf16: 32,
};

/** Writes a synthetic model of `shape` to `path`; returns the tensor count. */
export function writeSyntheticGguf(path: string, shape: ModelShape, options: SyntheticModelOptions = {}): number {
  const dtype = options.dtype ?? 'f16';
  const rand = prng(options.seed ?? 1);
  const L = Math.min(options.layers ?? shape.layers, shape.layers);
  const D = shape.hidden;
  const H = shape.mambaHeads, P = shape.mambaHeadDim, N = shape.dState, G = shape.groups, K = shape.dConv;
  const dInner = H * P;
  const C = dInner + 2 * G * N;
  const dh = D / shape.heads;
  const isAttn = (l: number) => shape.attentionLayers.includes(l);

  const tensors: GgufTensorSource[] = [];
  const uniform = (n: number, scale: number, offset = 0) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = offset + (rand() * 2 - 1) * scale;
    return a;
  };
  // The mix depends on the layer count and which layers have attention.
  const mix = q4KMix(Array.from({ length: L }, (_, l) => `blk.${l}.${isAttn(l) ? 'attn_v' : 'ssm_in'}`));
  const typeOf = (name: string, cols: number): TensorDType => {
    if (dtype !== 'q4_k_m') return dtype;
    const type = mix(name);
    return cols % 256 === 0 ? type : 'q8_0'; // K-quants need whole 256-element blocks
  };
  // A matrix [rows, cols] (GGUF ne {cols, rows}) in its dtype.
  const matrix = (name: string, rows: number, cols: number, experts = 0) => {
    const shp = experts ? [experts, rows, cols] : [rows, cols];
    const dtype = typeOf(name, cols);
    const stored = options.storeDequantized ? 'f32' : dtype;
    tensors.push({
      name,
      ne: experts ? [cols, rows, experts] : [cols, rows],
      type: ggmlTypeId(stored),
      byteLength: tensorByteLength(stored, shp),
      data: () => {
        const t = Tensor.from(uniform(shp.reduce((a, b) => a * b, 1), Math.sqrt(3 / cols)), shp);
        if (dtype === 'f32') return new Uint8Array((t.data as Float32Array).buffer);
        const q = Tensor.quantize(t, dtype);
        return stored === 'f32' ? new Uint8Array((q.toFloat32().data as Float32Array).buffer) : (q.data as Uint8Array);
      },
    });
  };
  const vector = (name: string, ne: number[], values: () => Float32Array) => {
    const n = ne.reduce((a, b) => a * b, 1);
    tensors.push({ name, ne, type: 0, byteLength: 4 * n, data: () => new Uint8Array(values().buffer) });
  };
  const ones = (n: number) => () => new Float32Array(n).fill(1);

  matrix('token_embd.weight', shape.vocab, D);
  vector('output_norm.weight', [D], ones(D));
  for (let l = 0; l < L; l++) {
    const p = `blk.${l}.`;
    vector(p + 'attn_norm.weight', [D], ones(D));
    vector(p + 'ffn_norm.weight', [D], ones(D));
    if (isAttn(l)) {
      matrix(p + 'attn_q.weight', shape.heads * dh, D);
      matrix(p + 'attn_k.weight', shape.kvHeads * dh, D);
      matrix(p + 'attn_v.weight', shape.kvHeads * dh, D);
      matrix(p + 'attn_output.weight', D, shape.heads * dh);
    } else {
      matrix(p + 'ssm_in.weight', 2 * dInner + 2 * G * N + H, D);
      vector(p + 'ssm_conv1d.weight', [K, C], () => uniform(C * K, 0.5));
      vector(p + 'ssm_conv1d.bias', [C], () => uniform(C, 0.1));
      // dt = softplus(dt_raw + dt_bias) around 0.01-0.1; A in [-16, -1]; D = 1.
      vector(p + 'ssm_dt.bias', [H], () => uniform(H, 1, -3.5));
      vector(p + 'ssm_a', [1, H], () => uniform(H, 7.5, -8.5));
      vector(p + 'ssm_d', [1, H], ones(H));
      vector(p + 'ssm_norm.weight', [dInner / G, G], ones(dInner));
      matrix(p + 'ssm_out.weight', D, dInner);
    }
    const shared = shape.experts > 0 ? '_shexp' : '';
    matrix(p + `ffn_gate${shared}.weight`, shape.sharedFf, D);
    matrix(p + `ffn_up${shared}.weight`, shape.sharedFf, D);
    matrix(p + `ffn_down${shared}.weight`, D, shape.sharedFf);
    if (shape.experts > 0) {
      vector(p + 'ffn_gate_inp.weight', [D, shape.experts], () => uniform(D * shape.experts, Math.sqrt(3 / D)));
      matrix(p + 'ffn_gate_exps.weight', shape.expertFf, D, shape.experts);
      matrix(p + 'ffn_up_exps.weight', shape.expertFf, D, shape.experts);
      matrix(p + 'ffn_down_exps.weight', D, shape.expertFf, shape.experts);
    }
  }

  const A = (k: string) => `granitehybrid.${k}`;
  const u32 = (value: number): GgufMetaValue => ({ type: 'u32', value });
  const f32 = (value: number): GgufMetaValue => ({ type: 'f32', value });
  const kvPerLayer = Array.from({ length: L }, (_, l) => (isAttn(l) ? shape.kvHeads : 0));
  const metadata: Array<[string, GgufMetaValue]> = [
    ['general.architecture', { type: 'string', value: 'granitehybrid' }],
    ['general.name', { type: 'string', value: `synthetic granite-4.0-${shape.name}` }],
    ['general.file_type', u32(FILE_TYPE[dtype])],
    ['general.quantization_version', u32(2)],
    [A('block_count'), u32(L)],
    [A('context_length'), u32(1048576)],
    [A('embedding_length'), u32(D)],
    [A('feed_forward_length'), u32(shape.expertFf)],
    [A('expert_shared_feed_forward_length'), u32(shape.sharedFf)],
    [A('expert_count'), u32(shape.experts)],
    [A('expert_used_count'), u32(shape.topK)],
    [A('attention.head_count'), u32(shape.heads)],
    [A('attention.head_count_kv'), { type: 'array', itemType: 'i32', values: kvPerLayer }],
    [A('attention.layer_norm_rms_epsilon'), f32(1e-5)],
    [A('attention.scale'), f32(shape.attentionMultiplier)],
    [A('embedding_scale'), f32(shape.embeddingMultiplier)],
    [A('residual_scale'), f32(shape.residualMultiplier)],
    [A('logit_scale'), f32(shape.logitsScaling)],
    [A('rope.dimension_count'), u32(dh)],
    [A('rope.freq_base'), f32(10000)],
    [A('rope.scaling.finetuned'), { type: 'bool', value: false }],
    [A('ssm.conv_kernel'), u32(K)],
    [A('ssm.state_size'), u32(N)],
    [A('ssm.group_count'), u32(G)],
    [A('ssm.inner_size'), u32(dInner)],
    [A('ssm.time_step_rank'), u32(H)],
    [A('vocab_size'), u32(shape.vocab)],
  ];
  if (options.withTokenizer) {
    const tokens = [...byteLevelChars(), ...Array.from({ length: shape.vocab - 256 }, (_, i) => `<t ${i + 256}>`)];
    metadata.push(
      ['tokenizer.ggml.model', { type: 'string', value: 'gpt2' }],
      ['tokenizer.ggml.pre', { type: 'string', value: 'dbrx' }],
      ['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', values: tokens }],
      ['tokenizer.ggml.token_type', { type: 'array', itemType: 'i32', values: tokens.map(() => 1) }],
      ['tokenizer.ggml.merges', { type: 'array', itemType: 'string', values: [] }],
      ['tokenizer.ggml.bos_token_id', u32(0)],
      ['tokenizer.ggml.eos_token_id', u32(0)],
    );
  }
  writeGguf(path, metadata, tensors);
  return tensors.length;
}
