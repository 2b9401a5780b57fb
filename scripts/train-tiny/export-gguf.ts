/**
 * Writes the GGUF files of granite-h-nano from its Hugging Face directory
 * (written by export.py): `granite-h-nano-f16.gguf` (F16 matrices) and
 * `granite-h-nano-q8_0.gguf` (Q8_0 matrices), small tensors F32 in both, with
 * the tensor names, transformations and metadata keys of a converted Granite
 * 4.0-H GGUF (docs/MODEL.md), tokenizer and chat template included.
 *
 *   node -r ./test/cli/ts-register.js scripts/train-tiny/export-gguf.ts [DIR]   (from the repo root; DIR
 *   defaults to models/granite-h-nano)
 */
import * as fs from 'fs';
import * as path from 'path';

import { ggmlTypeId } from '../../lib/dtype';
import { Tensor, f16BitsToF32, tensorByteLength, type TensorDType } from '../../lib/tensor';
import { writeGguf, type GgufMetaValue, type GgufTensorSource } from '../../lib/writers/gguf-writer';

interface HfTensor {
  shape: number[];
  values: Float32Array;
}

/** Reads an F16 safetensors file into F32 arrays (every F16 value is exact in F32). */
function readF16Safetensors(file: string): Map<string, HfTensor> {
  const buf = fs.readFileSync(file);
  const headerLen = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, unknown>;
  const base = 8 + headerLen;
  const out = new Map<string, HfTensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: [begin, end] } = info as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (dtype !== 'F16') throw new Error(`${file}: ${name} is ${dtype}, expected F16`);
    const values = new Float32Array((end - begin) / 2);
    for (let i = 0; i < values.length; i++) values[i] = f16BitsToF32(buf.readUInt16LE(base + begin + 2 * i));
    out.set(name, { shape, values });
  }
  return out;
}

/** Rows [from, to) of a row-major [rows, cols] (or [E, rows, cols]) array, per leading index. */
function rowSlice(t: HfTensor, from: number, to: number): Float32Array {
  const cols = t.shape[t.shape.length - 1];
  const rows = t.shape[t.shape.length - 2];
  const outer = t.values.length / (rows * cols);
  const out = new Float32Array(outer * (to - from) * cols);
  for (let o = 0; o < outer; o++) {
    out.set(t.values.subarray((o * rows + from) * cols, (o * rows + to) * cols), o * (to - from) * cols);
  }
  return out;
}

/**
 * The converter's Q/K row order: within each head, rows [0..hd/2) ++ [hd/2..hd)
 * become interleaved pairs (row 2j = old j, row 2j+1 = old j + hd/2). Scores
 * are unchanged because Q and K are permuted alike.
 */
function permuteQk(values: Float32Array, heads: number, cols: number): Float32Array {
  const hd = values.length / cols / heads;
  const out = new Float32Array(values.length);
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < hd / 2; j++) {
      for (const [dst, src] of [[2 * j, j], [2 * j + 1, j + hd / 2]]) {
        out.set(values.subarray((h * hd + src) * cols, (h * hd + src + 1) * cols), (h * hd + dst) * cols);
      }
    }
  }
  return out;
}

function exportGguf(dir: string, dtype: 'f16' | 'q8_0', outFile: string): void {
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const tok = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
  const tokConfig = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
  const w = readF16Safetensors(path.join(dir, 'model.safetensors'));
  const get = (name: string): HfTensor => {
    const t = w.get(name);
    if (!t) throw new Error(`${dir}: tensor ${name} missing`);
    return t;
  };

  const tensors: GgufTensorSource[] = [];
  // ne = GGUF order (fastest first) of a row-major array whose shape is ne reversed.
  const f32 = (name: string, ne: number[], values: Float32Array) => {
    tensors.push({ name, ne, type: ggmlTypeId('f32'), byteLength: 4 * values.length, data: () => new Uint8Array(values.buffer.slice(0)) });
  };
  const matrix = (name: string, ne: number[], values: Float32Array) => {
    const shape = [...ne].reverse();
    const type: TensorDType = dtype;
    tensors.push({
      name,
      ne,
      type: ggmlTypeId(type),
      byteLength: tensorByteLength(type, shape),
      data: () => Tensor.quantize(Tensor.from(values, shape), type).data as Uint8Array,
    });
  };

  const D = config.hidden_size;
  const H = config.mamba_n_heads;
  const G = config.mamba_n_groups;
  const dInner = config.mamba_expand * D;
  const convDim = dInner + 2 * G * config.mamba_d_state;
  const K = config.mamba_d_conv;
  const E = config.num_local_experts;
  const Fe = config.intermediate_size;
  const Fs = config.shared_intermediate_size;
  const nq = config.num_attention_heads;
  const nkv = config.num_key_value_heads;
  const dh = D / nq;
  const L = config.num_hidden_layers;
  const V = config.vocab_size;
  if (!config.tie_word_embeddings) throw new Error('expected tied embeddings');

  matrix('token_embd.weight', [D, V], get('model.embed_tokens.weight').values);
  f32('output_norm.weight', [D], get('model.norm.weight').values);
  for (let l = 0; l < L; l++) {
    const hf = (n: string) => get(`model.layers.${l}.${n}`);
    const p = `blk.${l}.`;
    f32(p + 'attn_norm.weight', [D], hf('input_layernorm.weight').values);
    f32(p + 'ffn_norm.weight', [D], hf('post_attention_layernorm.weight').values);
    if (config.layer_types[l] === 'mamba') {
      matrix(p + 'ssm_in.weight', [D, 2 * dInner + 2 * G * config.mamba_d_state + H], hf('mamba.in_proj.weight').values);
      f32(p + 'ssm_conv1d.weight', [K, convDim], hf('mamba.conv1d.weight').values);
      f32(p + 'ssm_conv1d.bias', [convDim], hf('mamba.conv1d.bias').values);
      f32(p + 'ssm_dt.bias', [H], hf('mamba.dt_bias').values);
      f32(p + 'ssm_a', [1, H], hf('mamba.A_log').values.map((a) => -Math.exp(a)));
      f32(p + 'ssm_d', [1, H], hf('mamba.D').values);
      f32(p + 'ssm_norm.weight', [dInner / G, G], hf('mamba.norm.weight').values);
      matrix(p + 'ssm_out.weight', [dInner, D], hf('mamba.out_proj.weight').values);
    } else {
      matrix(p + 'attn_q.weight', [D, nq * dh], permuteQk(hf('self_attn.q_proj.weight').values, nq, D));
      matrix(p + 'attn_k.weight', [D, nkv * dh], permuteQk(hf('self_attn.k_proj.weight').values, nkv, D));
      matrix(p + 'attn_v.weight', [D, nkv * dh], hf('self_attn.v_proj.weight').values);
      matrix(p + 'attn_output.weight', [nq * dh, D], hf('self_attn.o_proj.weight').values);
    }
    const shared = hf('shared_mlp.input_linear.weight');
    matrix(p + 'ffn_gate_shexp.weight', [D, Fs], rowSlice(shared, 0, Fs));
    matrix(p + 'ffn_up_shexp.weight', [D, Fs], rowSlice(shared, Fs, 2 * Fs));
    matrix(p + 'ffn_down_shexp.weight', [Fs, D], hf('shared_mlp.output_linear.weight').values);
    f32(p + 'ffn_gate_inp.weight', [D, E], hf('block_sparse_moe.router.layer.weight').values);
    const experts = hf('block_sparse_moe.input_linear.weight');
    matrix(p + 'ffn_gate_exps.weight', [D, Fe, E], rowSlice(experts, 0, Fe));
    matrix(p + 'ffn_up_exps.weight', [D, Fe, E], rowSlice(experts, Fe, 2 * Fe));
    matrix(p + 'ffn_down_exps.weight', [Fe, D, E], hf('block_sparse_moe.output_linear.weight').values);
  }

  // Tokenizer: BPE vocabulary by id, then the added tokens (control = special, user-defined = not).
  const tokens: string[] = new Array(V);
  const types: number[] = new Array(V).fill(5); // unused until filled
  for (const [text, id] of Object.entries(tok.model.vocab as Record<string, number>)) {
    tokens[id] = text;
    types[id] = 1;
  }
  for (const t of tok.added_tokens as Array<{ id: number; content: string; special: boolean }>) {
    tokens[t.id] = t.content;
    types[t.id] = t.special ? 3 : 4;
  }
  for (let i = 0; i < V; i++) if (tokens[i] === undefined) tokens[i] = `[PAD${i}]`;
  const idOf = (text: string) => (tok.added_tokens as Array<{ id: number; content: string }>).find((t) => t.content === text)!.id;

  const A = (k: string) => `granitehybrid.${k}`;
  const u32 = (value: number): GgufMetaValue => ({ type: 'u32', value });
  const fl = (value: number): GgufMetaValue => ({ type: 'f32', value });
  const metadata: Array<[string, GgufMetaValue]> = [
    ['general.architecture', { type: 'string', value: 'granitehybrid' }],
    ['general.name', { type: 'string', value: 'granite-h-nano' }],
    ['general.license', { type: 'string', value: 'apache-2.0' }],
    ['general.file_type', u32(dtype === 'f16' ? 1 : 7)],
    ['general.quantization_version', u32(2)],
    [A('block_count'), u32(L)],
    [A('context_length'), u32(1048576)],
    [A('embedding_length'), u32(D)],
    [A('feed_forward_length'), u32(Fe)],
    [A('expert_shared_feed_forward_length'), u32(Fs)],
    [A('expert_count'), u32(E)],
    [A('expert_used_count'), u32(config.num_experts_per_tok)],
    [A('attention.head_count'), u32(nq)],
    [A('attention.head_count_kv'), { type: 'array', itemType: 'i32', values: config.layer_types.map((k: string) => (k === 'attention' ? nkv : 0)) }],
    [A('attention.layer_norm_rms_epsilon'), fl(config.rms_norm_eps)],
    [A('attention.scale'), fl(config.attention_multiplier)],
    [A('embedding_scale'), fl(config.embedding_multiplier)],
    [A('residual_scale'), fl(config.residual_multiplier)],
    [A('logit_scale'), fl(config.logits_scaling)],
    [A('rope.dimension_count'), u32(dh)],
    [A('rope.freq_base'), fl(config.rope_theta)],
    [A('rope.scaling.finetuned'), { type: 'bool', value: false }],
    [A('ssm.conv_kernel'), u32(K)],
    [A('ssm.state_size'), u32(config.mamba_d_state)],
    [A('ssm.group_count'), u32(G)],
    [A('ssm.inner_size'), u32(dInner)],
    [A('ssm.time_step_rank'), u32(H)],
    [A('vocab_size'), u32(V)],
    ['tokenizer.ggml.model', { type: 'string', value: 'gpt2' }],
    ['tokenizer.ggml.pre', { type: 'string', value: 'dbrx' }],
    ['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', values: tokens }],
    ['tokenizer.ggml.token_type', { type: 'array', itemType: 'i32', values: types }],
    ['tokenizer.ggml.merges', { type: 'array', itemType: 'string', values: tok.model.merges }],
    ['tokenizer.ggml.bos_token_id', u32(config.bos_token_id)],
    ['tokenizer.ggml.eos_token_id', u32(config.eos_token_id)],
    ['tokenizer.ggml.padding_token_id', u32(config.pad_token_id)],
    ['tokenizer.ggml.unknown_token_id', u32(idOf('<|unk|>'))],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: false }],
    ['tokenizer.chat_template', { type: 'string', value: tokConfig.chat_template }],
  ];
  writeGguf(outFile, metadata, tensors);
  console.log(`${outFile}: ${tensors.length} tensors, ${fs.statSync(outFile).size} bytes`);
}

const dir = path.resolve(process.argv[2] ?? 'models/granite-h-nano');
exportGguf(dir, 'f16', path.join(dir, 'granite-h-nano-f16.gguf'));
exportGguf(dir, 'q8_0', path.join(dir, 'granite-h-nano-q8_0.gguf'));
