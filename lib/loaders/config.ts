/**
 * The one place that reads string-keyed model metadata: Hugging Face
 * `config.json` fields and GGUF `granitehybrid.*` keys become one frozen,
 * typed {@link ModelConfig} (docs/MODEL.md, Configuration). Nothing past this
 * file reads config fields or kv pairs by name.
 */
import { ModelFormatError, UnsupportedError } from '../errors';
import { GgufFile } from './gguf';
import { LayerKind, ModelConfig } from './types';

const HF_ARCHITECTURE = 'GraniteMoeHybridForCausalLM';
const HF_MODEL_TYPE = 'granitemoehybrid';
const GGUF_ARCH = 'granitehybrid';

const MAX_DIM = 1 << 24;
const MAX_LAYERS = 4096;
const MAX_HEADS = 1 << 16;
const MAX_CONV = 1024;
const DEFAULT_CHUNK_SIZE = 256;

/** Field values before the cross-field checks; `names` says what each is called in the file. */
interface Draft {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  layer_types: LayerKind[];
  num_attention_heads: number;
  num_key_value_heads: number;
  mamba_n_heads: number;
  /** undefined = derive from d_inner / H. */
  mamba_d_head: number | undefined;
  mamba_d_inner: number;
  mamba_d_state: number;
  mamba_n_groups: number;
  mamba_d_conv: number;
  mamba_chunk_size: number;
  num_local_experts: number;
  num_experts_per_tok: number;
  intermediate_size: number;
  shared_intermediate_size: number;
  embedding_multiplier: number;
  residual_multiplier: number;
  attention_multiplier: number;
  logits_scaling: number;
  rms_norm_eps: number;
  tie_word_embeddings: boolean;
  time_step_limit: [number, number];
  bos_token_id: number | null;
  eos_token_id: number | null;
  pad_token_id: number | null;
}

/** What the file calls the fields that cross-checks can blame. */
interface FieldNames {
  num_hidden_layers: string;
  layer_types: string;
  hidden_size: string;
  num_attention_heads: string;
  num_key_value_heads: string;
  mamba_n_heads: string;
  mamba_d_head: string;
  mamba_d_inner: string;
  mamba_n_groups: string;
  num_experts_per_tok: string;
}

// ---- typed field access (shared by both formats)

interface IntOptions { readonly min?: number; readonly max?: number }

class FieldReader {
  constructor(
    /** `path: ` prefix of messages. */
    private readonly where: string,
    /** 'field' or 'metadata'. */
    private readonly noun: string,
    private readonly get: (name: string) => unknown,
  ) {}

  has(name: string): boolean {
    const v = this.get(name);
    return v !== undefined && v !== null;
  }

  raw(name: string): unknown {
    return this.get(name);
  }

  missing(name: string): ModelFormatError {
    return new ModelFormatError(`${this.where}: required ${this.noun} '${name}' is missing`);
  }

  bad(name: string, value: unknown, expected: string): ModelFormatError {
    return new ModelFormatError(`${this.where}: ${this.noun} '${name}' is ${show(value)}, expected ${expected}`);
  }

  int(name: string, opts: IntOptions = {}, fallback?: number): number {
    const v = this.get(name);
    if (v === undefined || v === null) {
      if (fallback === undefined) throw this.missing(name);
      return fallback;
    }
    const min = opts.min ?? 1;
    const max = opts.max ?? MAX_DIM;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw this.bad(name, v, `an integer from ${min} to ${max}`);
    }
    return v;
  }

  num(name: string, fallback?: number): number {
    const v = this.get(name);
    if (v === undefined || v === null) {
      if (fallback === undefined) throw this.missing(name);
      return fallback;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) throw this.bad(name, v, 'a finite number');
    return v;
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.get(name);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') throw this.bad(name, v, 'true or false');
    return v;
  }

  str(name: string): string | undefined {
    const v = this.get(name);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw this.bad(name, v, 'a string');
    return v;
  }

  /** Token id: an integer ≥ 0, null when absent; a list takes its first entry (HF allows lists). */
  tokenId(name: string): number | null {
    let v = this.get(name);
    if (Array.isArray(v)) v = v[0];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
      throw this.bad(name, v, 'a token id');
    }
    return v;
  }
}

function show(v: unknown): string {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'object' && v !== null && 'items' in v) return 'an array';
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

// ---- cross-field checks and freezing (shared by both formats)

function finish(d: Draft, source: ModelConfig['source'], where: string, n: FieldNames): ModelConfig {
  const fail = (msg: string) => new ModelFormatError(`${where}: ${msg}`);
  if (d.layer_types.length !== d.num_hidden_layers) {
    throw fail(`'${n.layer_types}' has ${d.layer_types.length} entries, but '${n.num_hidden_layers}' is ${d.num_hidden_layers}`);
  }
  if (!d.layer_types.includes('mamba')) {
    throw new UnsupportedError(
      `${where}: every layer is an attention layer; this is a non-hybrid Granite model, which hybridlm does not run`,
    );
  }
  if (d.hidden_size % d.num_attention_heads !== 0) {
    throw fail(`'${n.hidden_size}' ${d.hidden_size} is not divisible by '${n.num_attention_heads}' ${d.num_attention_heads}`);
  }
  if (d.num_attention_heads % d.num_key_value_heads !== 0) {
    throw fail(
      `'${n.num_attention_heads}' ${d.num_attention_heads} is not a multiple of '${n.num_key_value_heads}' ${d.num_key_value_heads}`,
    );
  }
  let mamba_d_head = d.mamba_d_head;
  if (mamba_d_head === undefined) {
    if (d.mamba_d_inner % d.mamba_n_heads !== 0) {
      throw fail(`d_inner ${d.mamba_d_inner} ('${n.mamba_d_inner}') is not divisible by '${n.mamba_n_heads}' ${d.mamba_n_heads}`);
    }
    mamba_d_head = d.mamba_d_inner / d.mamba_n_heads;
  }
  if (d.mamba_n_heads * mamba_d_head !== d.mamba_d_inner) {
    throw fail(
      `'${n.mamba_n_heads}' × '${n.mamba_d_head}' = ${d.mamba_n_heads} × ${mamba_d_head} does not equal ` +
        `d_inner ${d.mamba_d_inner} ('${n.mamba_d_inner}')`,
    );
  }
  if (d.mamba_n_heads % d.mamba_n_groups !== 0) {
    throw fail(`'${n.mamba_n_heads}' ${d.mamba_n_heads} is not a multiple of '${n.mamba_n_groups}' ${d.mamba_n_groups}`);
  }
  // With no experts the top-k is meaningless and is normalised to 0 below.
  if (d.num_local_experts > 0 && (d.num_experts_per_tok < 1 || d.num_experts_per_tok > d.num_local_experts)) {
    throw fail(`'${n.num_experts_per_tok}' ${d.num_experts_per_tok} does not fit ${d.num_local_experts} experts`);
  }
  const [lo, hi] = d.time_step_limit;
  if (Number.isNaN(lo) || Number.isNaN(hi) || lo > hi || lo === Infinity) {
    throw fail(`time_step_limit [${lo}, ${hi}] is not a valid range`);
  }
  const config: ModelConfig = {
    architecture: 'granitehybrid',
    source,
    vocab_size: d.vocab_size,
    hidden_size: d.hidden_size,
    num_hidden_layers: d.num_hidden_layers,
    layer_types: Object.freeze([...d.layer_types]),
    num_attention_heads: d.num_attention_heads,
    num_key_value_heads: d.num_key_value_heads,
    head_dim: d.hidden_size / d.num_attention_heads,
    mamba_n_heads: d.mamba_n_heads,
    mamba_d_head,
    mamba_d_state: d.mamba_d_state,
    mamba_n_groups: d.mamba_n_groups,
    mamba_d_conv: d.mamba_d_conv,
    mamba_d_inner: d.mamba_d_inner,
    mamba_chunk_size: d.mamba_chunk_size,
    num_local_experts: d.num_local_experts,
    num_experts_per_tok: d.num_local_experts === 0 ? 0 : d.num_experts_per_tok,
    intermediate_size: d.intermediate_size,
    shared_intermediate_size: d.shared_intermediate_size,
    embedding_multiplier: d.embedding_multiplier,
    residual_multiplier: d.residual_multiplier,
    attention_multiplier: d.attention_multiplier,
    logits_scaling: d.logits_scaling,
    rms_norm_eps: d.rms_norm_eps,
    tie_word_embeddings: d.tie_word_embeddings,
    time_step_limit: Object.freeze([lo, hi] as [number, number]),
    bos_token_id: d.bos_token_id,
    eos_token_id: d.eos_token_id,
    pad_token_id: d.pad_token_id,
  };
  return Object.freeze(config);
}

// ---- Hugging Face config.json

/**
 * Builds the config from a parsed Hugging Face `config.json` (`path` is used
 * in messages). Throws ModelFormatError for a missing or mistyped field,
 * UnsupportedError for a model that is not a Granite 4.0-H hybrid (another
 * model_type, all-attention siblings, RoPE, biases, another activation).
 */
export function configFromHf(json: unknown, path: string): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ModelFormatError(`${path}: config is not a JSON object`);
  }
  const obj = json as Record<string, unknown>;
  const f = new FieldReader(path, 'field', (name) => (Object.hasOwn(obj, name) ? obj[name] : undefined));

  const modelType = f.str('model_type');
  const archs = f.raw('architectures');
  if (archs !== undefined && (!Array.isArray(archs) || !archs.every((a) => typeof a === 'string'))) {
    throw f.bad('architectures', archs, 'a list of strings');
  }
  const archList = (archs as string[] | undefined) ?? [];
  if (modelType === undefined && archList.length === 0) throw f.missing('model_type');
  if (modelType !== undefined ? modelType !== HF_MODEL_TYPE : !archList.includes(HF_ARCHITECTURE)) {
    const what = modelType !== undefined ? `model_type '${modelType}'` : `architectures ${show(archList)}`;
    throw new UnsupportedError(
      `${path}: ${what} is not a Granite 4.0-H hybrid (expected model_type '${HF_MODEL_TYPE}', ${HF_ARCHITECTURE})`,
    );
  }

  const posType = f.str('position_embedding_type');
  if (posType !== undefined && posType !== 'nope') {
    throw new UnsupportedError(
      `${path}: position_embedding_type '${posType}' is not supported (hybridlm runs the NoPE Granite 4.0-H models)`,
    );
  }
  const requireValue = (name: string, expected: unknown, why: string) => {
    const v = f.raw(name);
    if (v !== undefined && v !== null && v !== expected) {
      throw new UnsupportedError(`${path}: ${name} ${show(v)} is not supported (${why})`);
    }
  };
  requireValue('hidden_act', 'silu', 'only silu is implemented');
  requireValue('normalization_function', 'rmsnorm', 'only rmsnorm is implemented');
  requireValue('attention_bias', false, 'attention projections have no bias');
  requireValue('mamba_proj_bias', false, 'Mamba projections have no bias');
  requireValue('mamba_conv_bias', true, 'the Mamba conv1d has a bias');

  const L = f.int('num_hidden_layers', { max: MAX_LAYERS });
  const layerField = f.has('layer_types') ? 'layer_types' : 'layers_block_type';
  let layer_types: LayerKind[];
  if (f.has(layerField)) {
    const raw = f.raw(layerField);
    if (!Array.isArray(raw)) throw f.bad(layerField, raw, `a list of "mamba" / "attention"`);
    layer_types = raw.map((k, i) => {
      if (k !== 'mamba' && k !== 'attention') throw f.bad(`${layerField}[${i}]`, k, `"mamba" or "attention"`);
      return k;
    });
  } else {
    layer_types = new Array<LayerKind>(L).fill('mamba');
  }

  const D = f.int('hidden_size');
  const n_q = f.int('num_attention_heads', { max: MAX_HEADS });
  const E = f.int('num_local_experts', { min: 0, max: MAX_HEADS }, 0);
  const F_s = f.int('shared_intermediate_size');
  const expand = f.int('mamba_expand', { max: 64 });
  // "auto" (or absent, HF's default) means d_inner / H, derived in finish().
  const dHead = f.raw('mamba_d_head');
  const mamba_d_head = dHead === 'auto' || !f.has('mamba_d_head') ? undefined : f.int('mamba_d_head');

  const headDim = f.raw('head_dim');
  if (headDim !== undefined && headDim !== null && headDim !== D / n_q) {
    throw new UnsupportedError(`${path}: head_dim ${show(headDim)} differs from hidden_size / num_attention_heads (${D / n_q})`);
  }

  let time_step_limit: [number, number] = [0, Infinity];
  const tsl = f.raw('time_step_limit');
  if (tsl !== undefined && tsl !== null) {
    if (!Array.isArray(tsl) || tsl.length !== 2 || !tsl.every((x) => typeof x === 'number')) {
      throw f.bad('time_step_limit', tsl, 'a [min, max] pair of numbers');
    }
    time_step_limit = [tsl[0] as number, tsl[1] as number];
  }

  const draft: Draft = {
    vocab_size: f.int('vocab_size'),
    hidden_size: D,
    num_hidden_layers: L,
    layer_types,
    num_attention_heads: n_q,
    num_key_value_heads: f.int('num_key_value_heads', { max: MAX_HEADS }, n_q),
    mamba_n_heads: f.int('mamba_n_heads', { max: MAX_HEADS }),
    mamba_d_head,
    mamba_d_inner: expand * D,
    mamba_d_state: f.int('mamba_d_state'),
    mamba_n_groups: f.int('mamba_n_groups', { max: MAX_HEADS }, 1),
    mamba_d_conv: f.int('mamba_d_conv', { max: MAX_CONV }),
    mamba_chunk_size: f.int('mamba_chunk_size', {}, DEFAULT_CHUNK_SIZE),
    num_local_experts: E,
    num_experts_per_tok: f.int('num_experts_per_tok', { min: 0, max: MAX_HEADS }, 0),
    intermediate_size: E > 0 ? f.int('intermediate_size') : f.int('intermediate_size', {}, F_s),
    shared_intermediate_size: F_s,
    embedding_multiplier: f.num('embedding_multiplier'),
    residual_multiplier: f.num('residual_multiplier'),
    attention_multiplier: f.num('attention_multiplier'),
    logits_scaling: nonZero(f, 'logits_scaling', f.num('logits_scaling')),
    rms_norm_eps: positive(f, 'rms_norm_eps', f.num('rms_norm_eps')),
    tie_word_embeddings: f.bool('tie_word_embeddings', false),
    time_step_limit,
    bos_token_id: f.tokenId('bos_token_id'),
    eos_token_id: f.tokenId('eos_token_id'),
    pad_token_id: f.tokenId('pad_token_id'),
  };
  return finish(draft, 'safetensors', path, {
    num_hidden_layers: 'num_hidden_layers',
    layer_types: layerField,
    hidden_size: 'hidden_size',
    num_attention_heads: 'num_attention_heads',
    num_key_value_heads: 'num_key_value_heads',
    mamba_n_heads: 'mamba_n_heads',
    mamba_d_head: 'mamba_d_head',
    mamba_d_inner: 'mamba_expand × hidden_size',
    mamba_n_groups: 'mamba_n_groups',
    num_experts_per_tok: 'num_experts_per_tok',
  });
}

function nonZero(f: FieldReader, name: string, v: number): number {
  if (v === 0) throw f.bad(name, v, 'a non-zero number');
  return v;
}

function positive(f: FieldReader, name: string, v: number): number {
  if (!(v > 0)) throw f.bad(name, v, 'a positive number');
  return v;
}

// ---- GGUF metadata

/**
 * Builds the config from a GGUF header (granitehybrid.* keys). Throws UnsupportedError
 * when `general.architecture` is not 'granitehybrid' or the file asks for
 * RoPE, ModelFormatError for missing or mistyped keys. Values llama.cpp treats
 * as "unset" when absent or 0 (embedding/residual/logit scale, attention
 * scale) get llama.cpp's meaning. The tokenizer ids come from
 * `tokenizer.ggml.*_token_id`; the model is tied iff there is no `output.weight`.
 */
export function configFromGguf(gguf: GgufFile): ModelConfig {
  const path = gguf.path;
  const k = new FieldReader(path, 'metadata', (name) => gguf.kvByKey.get(name)?.value);

  const arch = k.raw('general.architecture');
  if (arch === undefined) throw k.missing('general.architecture');
  if (typeof arch !== 'string') throw k.bad('general.architecture', arch, 'a string');
  if (arch !== GGUF_ARCH) {
    const hint = arch.startsWith('granite') ? ' (non-hybrid Granite models are not supported)' : '';
    throw new UnsupportedError(`${path}: architecture '${arch}' is not a Granite 4.0-H hybrid ('${GGUF_ARCH}')${hint}`);
  }
  const splits = k.raw('split.count');
  if (typeof splits === 'number' && splits > 1) {
    throw new UnsupportedError(`${path}: split GGUF files (split.count ${splits}) are not supported; merge them first`);
  }
  const A = (s: string) => `${GGUF_ARCH}.${s}`;

  const finetuned = k.raw(A('rope.scaling.finetuned'));
  if (finetuned !== false) {
    if (finetuned !== undefined && typeof finetuned !== 'boolean') {
      throw k.bad(A('rope.scaling.finetuned'), finetuned, 'a bool');
    }
    throw new UnsupportedError(
      `${path}: metadata '${A('rope.scaling.finetuned')}' is ${finetuned === undefined ? 'missing (llama.cpp then applies RoPE)' : 'true'}; ` +
        `RoPE is not implemented (Granite 4.0-H hybrids set it to false)`,
    );
  }

  const L = k.int(A('block_count'), { max: MAX_LAYERS });
  const n_q = k.int(A('attention.head_count'), { max: MAX_HEADS });
  const kvKey = A('attention.head_count_kv');
  const kvRaw = gguf.kvByKey.get(kvKey)?.value;
  let perLayer: number[];
  if (kvRaw === undefined) throw k.missing(kvKey);
  if (typeof kvRaw === 'object') {
    perLayer = kvRaw.items.map((v, i) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_HEADS) throw k.bad(`${kvKey}[${i}]`, v, 'a head count');
      return v;
    });
  } else {
    if (typeof kvRaw !== 'number' || !Number.isInteger(kvRaw) || kvRaw < 0 || kvRaw > MAX_HEADS) {
      throw k.bad(kvKey, kvRaw, 'a head count or a per-layer array');
    }
    perLayer = new Array<number>(L).fill(kvRaw);
  }
  const attnKv = [...new Set(perLayer.filter((x) => x > 0))];
  if (attnKv.length > 1) {
    throw new UnsupportedError(`${path}: metadata '${kvKey}' varies between attention layers (${attnKv.join(', ')})`);
  }
  const layer_types: LayerKind[] = perLayer.map((x) => (x === 0 ? 'mamba' : 'attention'));

  const D = k.int(A('embedding_length'));
  const H = k.int(A('ssm.time_step_rank'), { max: MAX_HEADS });
  const E = k.int(A('expert_count'), { min: 0, max: MAX_HEADS }, 0);
  const F = k.int(A('feed_forward_length'));
  const unsetIsOne = (name: string): number => k.num(name, 0) || 1;

  let vocab = k.raw(A('vocab_size'));
  if (vocab === undefined) {
    const tokens = gguf.kvByKey.get('tokenizer.ggml.tokens')?.value;
    const embd = gguf.tensorByName.get('token_embd.weight');
    vocab = typeof tokens === 'object' ? tokens.items.length : embd?.ne[1];
  }
  if (vocab === undefined) throw k.missing(A('vocab_size'));
  if (typeof vocab !== 'number' || !Number.isInteger(vocab) || vocab < 1 || vocab > MAX_DIM) {
    throw k.bad(A('vocab_size'), vocab, `an integer from 1 to ${MAX_DIM}`);
  }

  const draft: Draft = {
    vocab_size: vocab,
    hidden_size: D,
    num_hidden_layers: L,
    layer_types,
    num_attention_heads: n_q,
    num_key_value_heads: attnKv[0] ?? n_q,
    mamba_n_heads: H,
    mamba_d_head: undefined,
    mamba_d_inner: k.int(A('ssm.inner_size')),
    mamba_d_state: k.int(A('ssm.state_size')),
    mamba_n_groups: k.int(A('ssm.group_count'), { max: MAX_HEADS }, 1),
    mamba_d_conv: k.int(A('ssm.conv_kernel'), { max: MAX_CONV }),
    // GGUF does not record the SSD chunk length; it only tunes the prefill kernel.
    mamba_chunk_size: DEFAULT_CHUNK_SIZE,
    num_local_experts: E,
    num_experts_per_tok: k.int(A('expert_used_count'), { min: 0, max: MAX_HEADS }, 0),
    intermediate_size: F,
    shared_intermediate_size:
      E > 0 ? k.int(A('expert_shared_feed_forward_length')) : k.int(A('expert_shared_feed_forward_length'), {}, F),
    embedding_multiplier: unsetIsOne(A('embedding_scale')),
    residual_multiplier: unsetIsOne(A('residual_scale')),
    attention_multiplier: k.num(A('attention.scale'), 0) || 1 / Math.sqrt(D / n_q),
    logits_scaling: unsetIsOne(A('logit_scale')),
    rms_norm_eps: positive(k, A('attention.layer_norm_rms_epsilon'), k.num(A('attention.layer_norm_rms_epsilon'))),
    tie_word_embeddings: !gguf.tensorByName.has('output.weight'),
    time_step_limit: [0, Infinity],
    bos_token_id: k.tokenId('tokenizer.ggml.bos_token_id'),
    eos_token_id: k.tokenId('tokenizer.ggml.eos_token_id'),
    pad_token_id: k.tokenId('tokenizer.ggml.padding_token_id'),
  };
  return finish(draft, 'gguf', path, {
    num_hidden_layers: A('block_count'),
    layer_types: kvKey,
    hidden_size: A('embedding_length'),
    num_attention_heads: A('attention.head_count'),
    num_key_value_heads: kvKey,
    mamba_n_heads: A('ssm.time_step_rank'),
    mamba_d_head: `${A('ssm.inner_size')} / ${A('ssm.time_step_rank')}`,
    mamba_d_inner: A('ssm.inner_size'),
    mamba_n_groups: A('ssm.group_count'),
    num_experts_per_tok: A('expert_used_count'),
  });
}
