/**
 * The Q4_K_M mix (docs/QUANTIZATION.md): which block type each matrix gets
 * when a model is quantized to 'q4_k'. The TS twin of native/model/quant_mix.cpp
 * (quantize on load), used by synthetic models and benchmarks; the
 * quantize-on-load tests check that both pick the same types.
 */

/** The layers that get more bits out of n: the first and last eighth, and every third one in between. */
export function moreBitsLayer(i: number, n: number): boolean {
  const e = Math.floor(n / 8);
  return i < e || i >= Math.floor((7 * n) / 8) || (i - e) % 3 === 2;
}

const LAYER = /^blk\.(\d+)\.(.+)$/;

/**
 * The mix for a model with these canonical tensor names (`token_embd`,
 * `blk.{i}.attn_v`, …; a trailing `.weight` is ignored): returns the type of
 * one matrix by name. Q6_K for token_embd, output, attn_v of the more-bits
 * attention layers (counted among the attention layers) and ffn_down /
 * ffn_down_exps of the more-bits layers; Q4_K for every other matrix.
 */
export function q4KMix(names: readonly string[]): (name: string) => 'q4_k' | 'q6_k' {
  const strip = (n: string) => n.replace(/\.weight$/, '');
  let layers = 0;
  const attnV: number[] = [];
  for (const n of names) {
    const m = LAYER.exec(strip(n));
    if (!m) continue;
    layers = Math.max(layers, Number(m[1]) + 1);
    if (m[2] === 'attn_v') attnV.push(Number(m[1]));
  }
  attnV.sort((a, b) => a - b);
  return (name) => {
    const n = strip(name);
    if (n === 'token_embd' || n === 'output') return 'q6_k';
    const m = LAYER.exec(n);
    if (!m) return 'q4_k';
    const layer = Number(m[1]);
    if (m[2] === 'attn_v') return moreBitsLayer(attnV.filter((l) => l < layer).length, attnV.length) ? 'q6_k' : 'q4_k';
    if (m[2].startsWith('ffn_down')) return moreBitsLayer(layer, layers) ? 'q6_k' : 'q4_k';
    return 'q4_k';
  };
}
