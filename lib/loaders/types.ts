/**
 * What the loaders hand to the rest of hybridlm: one frozen, typed
 * {@link ModelConfig} and a validated tensor table. Nothing past the loaders
 * reads string-keyed metadata.
 */
import type { TensorType } from './ggml-type';

/** Kind of each decoder layer. */
export type LayerKind = 'mamba' | 'attention';

/**
 * Normalised Granite 4.0-H configuration (field names as in docs/MODEL.md
 * / Hugging Face `config.json`), identical whether read from GGUF or from
 * a Hugging Face directory.
 */
export interface ModelConfig {
  /** Always 'granitehybrid' today. */
  readonly architecture: 'granitehybrid';
  /** Where the config came from. */
  readonly source: 'gguf' | 'safetensors';
  readonly vocab_size: number;
  readonly hidden_size: number;
  readonly num_hidden_layers: number;
  /** One entry per layer. */
  readonly layer_types: readonly LayerKind[];
  readonly num_attention_heads: number;
  readonly num_key_value_heads: number;
  /** Attention head dim = hidden_size / num_attention_heads. */
  readonly head_dim: number;
  readonly mamba_n_heads: number;
  readonly mamba_d_head: number;
  readonly mamba_d_state: number;
  readonly mamba_n_groups: number;
  readonly mamba_d_conv: number;
  /** d_inner = mamba_n_heads * mamba_d_head. */
  readonly mamba_d_inner: number;
  /** SSD chunk length (256 in released models); kernel tuning only. */
  readonly mamba_chunk_size: number;
  /** 0 for dense models. */
  readonly num_local_experts: number;
  /** 0 for dense models. */
  readonly num_experts_per_tok: number;
  /** Routed-expert FFN width (equals shared_intermediate_size in dense models). */
  readonly intermediate_size: number;
  /** Shared MLP width. */
  readonly shared_intermediate_size: number;
  readonly embedding_multiplier: number;
  readonly residual_multiplier: number;
  readonly attention_multiplier: number;
  /** Logits are DIVIDED by this. */
  readonly logits_scaling: number;
  readonly rms_norm_eps: number;
  readonly tie_word_embeddings: boolean;
  /** dt clamp after softplus; [0, Infinity] = none (every released model). */
  readonly time_step_limit: readonly [number, number];
  readonly bos_token_id: number | null;
  readonly eos_token_id: number | null;
  readonly pad_token_id: number | null;
}

export { TensorType } from './ggml-type';

/**
 * One logical weight the executor uses, located inside a model file. Canonical
 * names: `token_embd`, `output` (absent when tied), `output_norm`, and per layer
 * `blk.{i}.` + `attn_norm`, `ffn_norm`, `ssm_in`, `ssm_conv1d`, `ssm_conv1d_bias`,
 * `ssm_dt_bias`, `ssm_a`, `ssm_d`, `ssm_norm`, `ssm_out`, `attn_q`, `attn_k`,
 * `attn_v`, `attn_output`, `ffn_gate`, `ffn_up`, `ffn_down` (the shared MLP, in
 * dense and MoE models alike), `ffn_gate_inp`, `ffn_gate_exps`, `ffn_up_exps`,
 * `ffn_down_exps`.
 */
export interface TensorEntry {
  /** Canonical name (above). */
  readonly name: string;
  /** Name in the file (for error messages). */
  readonly sourceName: string;
  /** Index into {@link ModelFiles.files}. */
  readonly file: number;
  /** Byte offset of element 0 in the file. */
  readonly offset: number;
  readonly dtype: TensorType;
  /**
   * Logical shape, outermost first (PyTorch order): vectors [n], matrices
   * [rows, cols], experts [E, rows, cols]. `ssm_conv1d` is [C_conv, K].
   */
  readonly shape: readonly number[];
  /** Bytes between consecutive rows (matrices and experts). */
  readonly rowBytes: number;
  /** Bytes between consecutive experts ([E, rows, cols] only), else 0. */
  readonly matrixBytes: number;
  /** Value transform applied when loading: 'negExp' turns A_log into A = -exp(A_log). */
  readonly transform: 'none' | 'negExp';
}

/** A model located and validated on disk, ready for the addon to memory-map. */
export interface ModelFiles {
  readonly format: 'gguf' | 'safetensors';
  /** Absolute paths of the files tensors point into. */
  readonly files: readonly string[];
  /** File sizes in bytes, as validated (the addon re-checks them). */
  readonly fileSizes: readonly number[];
  readonly config: ModelConfig;
  readonly tensors: readonly TensorEntry[];
  /** GGUF metadata (tokenizer keys etc.) or tokenizer_config.json content; opaque here. */
  readonly metadata: Readonly<Record<string, unknown>>;
}
