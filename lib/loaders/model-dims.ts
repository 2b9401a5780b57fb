/**
 * The one struct the addon receives about a model's shape: the validated
 * {@link ModelConfig} mapped once to the kernel vocabulary of
 * native/core/model_dims.h (same field names), so the native side reads no
 * config field by name and only re-checks invariants (docs/MODEL.md, Symbols).
 */
import type { ModelConfig, ModelFiles } from './types';

/** ModelDims of native/core/model_dims.h, field for field. */
export interface ModelDims {
  readonly vocab: number;
  readonly d_model: number;
  readonly n_layers: number;
  /** One per layer: 0 Mamba, 1 attention. */
  readonly layer_kinds: readonly number[];
  readonly n_heads: number;
  readonly n_kv_heads: number;
  readonly head_dim: number;
  readonly ssm_heads: number;
  readonly ssm_head_dim: number;
  readonly d_state: number;
  readonly n_groups: number;
  readonly d_conv: number;
  readonly d_inner: number;
  readonly chunk_size: number;
  readonly n_experts: number;
  readonly top_k: number;
  readonly expert_ff: number;
  readonly shared_ff: number;
  readonly embedding_multiplier: number;
  readonly residual_multiplier: number;
  readonly attention_multiplier: number;
  readonly logits_scaling: number;
  readonly rms_norm_eps: number;
  /** dt clamp after softplus; dt_max 0 = none. */
  readonly dt_min: number;
  readonly dt_max: number;
  readonly tied: boolean;
}

/** Maps a validated config to the native dims. */
export function modelDims(c: ModelConfig): ModelDims {
  const [lo, hi] = c.time_step_limit;
  const clamp = Number.isFinite(hi);
  return Object.freeze({
    vocab: c.vocab_size,
    d_model: c.hidden_size,
    n_layers: c.num_hidden_layers,
    layer_kinds: Object.freeze(c.layer_types.map((k) => (k === 'mamba' ? 0 : 1))),
    n_heads: c.num_attention_heads,
    n_kv_heads: c.num_key_value_heads,
    head_dim: c.head_dim,
    ssm_heads: c.mamba_n_heads,
    ssm_head_dim: c.mamba_d_head,
    d_state: c.mamba_d_state,
    n_groups: c.mamba_n_groups,
    d_conv: c.mamba_d_conv,
    d_inner: c.mamba_d_inner,
    chunk_size: c.mamba_chunk_size,
    n_experts: c.num_local_experts,
    top_k: c.num_experts_per_tok,
    expert_ff: c.intermediate_size,
    shared_ff: c.shared_intermediate_size,
    embedding_multiplier: c.embedding_multiplier,
    residual_multiplier: c.residual_multiplier,
    attention_multiplier: c.attention_multiplier,
    logits_scaling: c.logits_scaling,
    rms_norm_eps: c.rms_norm_eps,
    dt_min: clamp ? lo : 0,
    dt_max: clamp ? hi : 0,
    tied: c.tie_word_embeddings,
  });
}

/** The model part of the addon's load spec: files, their sizes, the dims and the tensor table. */
export function nativeModelSpec(m: ModelFiles): {
  files: readonly string[];
  fileSizes: readonly number[];
  dims: ModelDims;
  tensors: ModelFiles['tensors'];
} {
  return { files: m.files, fileSizes: m.fileSizes, dims: modelDims(m.config), tensors: m.tensors };
}
