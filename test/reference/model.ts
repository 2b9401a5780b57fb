/**
 * Float64 reference forward pass of Granite 4.0-H (docs/MODEL.md, Forward
 * pass) for one sequence from an empty state, composed from the per-kernel
 * references of this folder. Slow and plain: for tiny fixture models only.
 */
import type { ModelConfig } from '../../lib/loaders/types';
import { attentionRef } from './attention';
import { conv1dRef } from './conv1d';
import { matmulRef } from './matmul';
import { moeForwardRef, moeRouteRef } from './moe';
import { gatedRmsnormRef, rmsnormRef } from './rmsnorm';
import { ssmScanRef } from './ssm';
import { swigluRef } from './swiglu';

/** Weight values by canonical name (lib/loaders/types.ts TensorEntry names), logical order, A already -exp(A_log). */
export type RefWeights = (name: string) => ArrayLike<number>;

/** Columns [from, from + width) of a [T, cols] row-major matrix. */
function cols(m: ArrayLike<number>, T: number, n: number, from: number, width: number): Float64Array {
  const out = new Float64Array(T * width);
  for (let t = 0; t < T; t++) for (let i = 0; i < width; i++) out[t * width + i] = m[t * n + from + i];
  return out;
}

function mamba(c: ModelConfig, w: RefWeights, p: string, u: Float64Array, T: number): Float64Array {
  const D = c.hidden_size, H = c.mamba_n_heads, P = c.mamba_d_head, N = c.mamba_d_state, G = c.mamba_n_groups;
  const K = c.mamba_d_conv, di = H * P, Cc = di + 2 * G * N, Z = 2 * di + 2 * G * N + H;
  const proj = matmulRef(u, w(p + 'ssm_in'), T, Z, D).y;
  const z = cols(proj, T, Z, 0, di);
  const xbc = conv1dRef(cols(proj, T, Z, di, Cc), w(p + 'ssm_conv1d'), w(p + 'ssm_conv1d_bias'), Cc, K, [0, T], null).out;
  const y = ssmScanRef({
    x: cols(xbc, T, Cc, 0, di),
    dt: cols(proj, T, Z, di + Cc, H),
    A: w(p + 'ssm_a'),
    B: cols(xbc, T, Cc, di, G * N),
    C: cols(xbc, T, Cc, di + G * N, G * N),
    D: w(p + 'ssm_d'),
    dtBias: w(p + 'ssm_dt_bias'),
    H, P, N, G,
    cu: [0, T],
  }).y;
  const g = gatedRmsnormRef(y, z, w(p + 'ssm_norm'), T, di, G, c.rms_norm_eps);
  return matmulRef(g, w(p + 'ssm_out'), T, D, di).y;
}

function attention(c: ModelConfig, w: RefWeights, p: string, u: Float64Array, T: number): Float64Array {
  const D = c.hidden_size, nq = c.num_attention_heads, nkv = c.num_key_value_heads, dh = c.head_dim;
  const q = matmulRef(u, w(p + 'attn_q'), T, nq * dh, D).y;
  const k = matmulRef(u, w(p + 'attn_k'), T, nkv * dh, D).y;
  const v = matmulRef(u, w(p + 'attn_v'), T, nkv * dh, D).y;
  const o = attentionRef(q, k, v, [0, T], [0, T], nq, nkv, dh, c.attention_multiplier);
  return matmulRef(o, w(p + 'attn_output'), T, D, nq * dh).y;
}

function feedForward(c: ModelConfig, w: RefWeights, p: string, v: Float64Array, T: number): Float64Array {
  const D = c.hidden_size, Fs = c.shared_intermediate_size;
  const h = swigluRef(matmulRef(v, w(p + 'ffn_gate'), T, Fs, D).y, matmulRef(v, w(p + 'ffn_up'), T, Fs, D).y);
  const f = matmulRef(h, w(p + 'ffn_down'), T, D, Fs).y;
  if (c.num_local_experts > 0) {
    const E = c.num_local_experts, k = c.num_experts_per_tok;
    const route = moeRouteRef(matmulRef(v, w(p + 'ffn_gate_inp'), T, E, D).y, T, E, k);
    const moe = moeForwardRef(v, route.ids, route.weights, w(p + 'ffn_gate_exps'), w(p + 'ffn_up_exps'),
      w(p + 'ffn_down_exps'), T, k, D, c.intermediate_size);
    for (let i = 0; i < f.length; i++) f[i] += moe[i];
  }
  return f;
}

/** Logits [T, vocab] of every position of `tokens`, fed from an empty state. */
export function modelRef(c: ModelConfig, w: RefWeights, tokens: readonly number[]): Float64Array {
  const T = tokens.length, D = c.hidden_size, V = c.vocab_size;
  const emb = w('token_embd');
  const h = new Float64Array(T * D);
  tokens.forEach((id, t) => {
    for (let i = 0; i < D; i++) h[t * D + i] = c.embedding_multiplier * emb[id * D + i];
  });
  const addScaled = (branch: Float64Array) => {
    for (let i = 0; i < h.length; i++) h[i] += c.residual_multiplier * branch[i];
  };
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `blk.${l}.`;
    const u = rmsnormRef(h, w(p + 'attn_norm'), T, D, c.rms_norm_eps);
    addScaled(c.layer_types[l] === 'mamba' ? mamba(c, w, p, u, T) : attention(c, w, p, u, T));
    addScaled(feedForward(c, w, p, rmsnormRef(h, w(p + 'ffn_norm'), T, D, c.rms_norm_eps), T));
  }
  const out = rmsnormRef(h, w('output_norm'), T, D, c.rms_norm_eps);
  const logits = matmulRef(out, w(c.tie_word_embeddings ? 'token_embd' : 'output'), T, V, D).y;
  for (let i = 0; i < logits.length; i++) logits[i] /= c.logits_scaling;
  return logits;
}
