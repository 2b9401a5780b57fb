/**
 * configFromHf on the geometry of released checkpoints (docs/MODEL.md,
 * Configuration), written out by hand here, and on the non-hybrid siblings it must refuse.
 */
import { ModelFormatError, UnsupportedError } from '../../lib/errors';
import { configFromHf } from '../../lib/loaders/config';

const attentionAt = (L: number, at: number[]) => Array.from({ length: L }, (_, i) => (at.includes(i) ? 'attention' : 'mamba'));

/** granite-4.0-h-tiny as its published config describes it. */
const hTiny = () => ({
  architectures: ['GraniteMoeHybridForCausalLM'],
  model_type: 'granitemoehybrid',
  vocab_size: 100352,
  hidden_size: 1536,
  num_hidden_layers: 40,
  layer_types: attentionAt(40, [5, 15, 25, 35]),
  num_attention_heads: 12,
  num_key_value_heads: 4,
  attention_bias: false,
  attention_multiplier: 0.0078125,
  position_embedding_type: 'nope',
  rope_theta: 10000,
  hidden_act: 'silu',
  intermediate_size: 512,
  shared_intermediate_size: 1024,
  num_local_experts: 64,
  num_experts_per_tok: 6,
  embedding_multiplier: 12,
  residual_multiplier: 0.22,
  logits_scaling: 6,
  rms_norm_eps: 1e-5,
  normalization_function: 'rmsnorm',
  tie_word_embeddings: true,
  mamba_n_heads: 48,
  mamba_d_head: 64,
  mamba_d_state: 128,
  mamba_n_groups: 1,
  mamba_d_conv: 4,
  mamba_expand: 2,
  mamba_chunk_size: 256,
  mamba_conv_bias: true,
  mamba_proj_bias: false,
  bos_token_id: 100257,
  eos_token_id: 100257,
  pad_token_id: 100256,
});

test('granite-4.0-h-tiny geometry', () => {
  const c = configFromHf(hTiny(), 'h-tiny/config.json');
  expect(c).toMatchObject({
    architecture: 'granitehybrid', source: 'safetensors',
    head_dim: 128, mamba_d_inner: 3072, mamba_d_head: 64, num_local_experts: 64, num_experts_per_tok: 6,
    intermediate_size: 512, shared_intermediate_size: 1024, time_step_limit: [0, Infinity],
    bos_token_id: 100257, eos_token_id: 100257, pad_token_id: 100256,
  });
  expect(c.layer_types.filter((k) => k === 'attention')).toHaveLength(4);
  expect(Object.isFrozen(c) && Object.isFrozen(c.layer_types) && Object.isFrozen(c.time_step_limit)).toBe(true);
});

test('h-350m: irregular attention layers, d_head "auto", dense defaults', () => {
  const c = configFromHf({
    ...hTiny(), hidden_size: 768, num_hidden_layers: 32, layer_types: attentionAt(32, [10, 13, 17, 27]),
    mamba_d_head: 'auto', num_local_experts: 0, num_experts_per_tok: 0, intermediate_size: 2048,
    shared_intermediate_size: 2048, mamba_n_heads: 48,
  }, 'config.json');
  expect(c.mamba_d_head).toBe(32);
  expect(c.head_dim).toBe(64);
  expect(c.layer_types.flatMap((k, i) => (k === 'attention' ? [i] : []))).toEqual([10, 13, 17, 27]);
});

test('missing layer_types means every layer is Mamba (HF default)', () => {
  const cfg: Record<string, unknown> = hTiny();
  delete cfg.layer_types;
  expect(configFromHf(cfg, 'config.json').layer_types.every((k) => k === 'mamba')).toBe(true);
});

test('dense model: intermediate_size defaults to the shared width, stray top-k is dropped', () => {
  const cfg: Record<string, unknown> = { ...hTiny(), num_local_experts: 0, num_experts_per_tok: 2 };
  delete cfg.intermediate_size;
  const c = configFromHf(cfg, 'config.json');
  expect([c.intermediate_size, c.num_experts_per_tok]).toEqual([1024, 0]);
});

test('MoE model: intermediate_size is required and top-k must fit', () => {
  const cfg: Record<string, unknown> = hTiny();
  delete cfg.intermediate_size;
  expect(() => configFromHf(cfg, 'x/config.json')).toThrow(new ModelFormatError("x/config.json: required field 'intermediate_size' is missing"));
  expect(() => configFromHf({ ...hTiny(), num_experts_per_tok: 65 }, 'c.json')).toThrow(ModelFormatError);
  expect(() => configFromHf({ ...hTiny(), num_experts_per_tok: 0 }, 'c.json')).toThrow(/num_experts_per_tok/);
});

test('granite-4.0-micro (all attention, RoPE, junk Mamba fields) is refused as non-hybrid', () => {
  const micro = {
    ...hTiny(), hidden_size: 2560, num_attention_heads: 40, num_key_value_heads: 8, num_hidden_layers: 40,
    layer_types: attentionAt(40, Array.from({ length: 40 }, (_, i) => i)), position_embedding_type: 'rope',
    rope_theta: 1e7, mamba_n_heads: 128, mamba_d_head: 40, mamba_d_state: 256, num_local_experts: 0,
  };
  expect(() => configFromHf(micro, 'micro/config.json')).toThrow(UnsupportedError);
  expect(() => configFromHf({ ...micro, position_embedding_type: 'nope' }, 'micro/config.json')).toThrow(/non-hybrid/);
});

test('eos_token_id may be a list; token ids must be integers', () => {
  expect(configFromHf({ ...hTiny(), eos_token_id: [100257, 100258] }, 'c.json').eos_token_id).toBe(100257);
  expect(configFromHf({ ...hTiny(), pad_token_id: null }, 'c.json').pad_token_id).toBeNull();
  expect(() => configFromHf({ ...hTiny(), bos_token_id: 1.5 }, 'c.json')).toThrow(/bos_token_id/);
});

test('divisibility checks name the fields', () => {
  expect(() => configFromHf({ ...hTiny(), num_attention_heads: 7 }, 'c.json')).toThrow(/'hidden_size' 1536 is not divisible by 'num_attention_heads' 7/);
  expect(() => configFromHf({ ...hTiny(), num_key_value_heads: 5 }, 'c.json')).toThrow(/num_key_value_heads/);
  expect(() => configFromHf({ ...hTiny(), mamba_n_groups: 5 }, 'c.json')).toThrow(/mamba_n_groups/);
  expect(() => configFromHf({ ...hTiny(), head_dim: 64 }, 'c.json')).toThrow(UnsupportedError);
});

test('absurd sizes are refused before anything is sized from them', () => {
  expect(() => configFromHf({ ...hTiny(), num_hidden_layers: 1e9 }, 'c.json')).toThrow(/num_hidden_layers/);
  expect(() => configFromHf({ ...hTiny(), hidden_size: 2 ** 40 }, 'c.json')).toThrow(/hidden_size/);
  expect(() => configFromHf({ ...hTiny(), rms_norm_eps: 0 }, 'c.json')).toThrow(/rms_norm_eps/);
  expect(() => configFromHf({ ...hTiny(), logits_scaling: 0 }, 'c.json')).toThrow(/logits_scaling/);
});
