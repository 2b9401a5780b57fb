/**
 * The Q4_K_M mix (lib/quant/q4-k-m-mix.ts) against the rule as
 * docs/QUANTIZATION.md states it, worked out by hand for a 40-layer model with
 * attention in layers 5, 15, 25 and 35. The native mix is checked against this
 * one in test/model/quantize-on-load.test.ts.
 */
import { moreBitsLayer, q4KMix } from '../../lib/quant/q4-k-m-mix';

const LAYERS = 40;
const ATTENTION = [5, 15, 25, 35];
const names = ['token_embd', 'output_norm'];
for (let l = 0; l < LAYERS; l++) {
  const kind = ATTENTION.includes(l) ? ['attn_q', 'attn_k', 'attn_v', 'attn_output'] : ['ssm_in', 'ssm_out'];
  names.push(...[...kind, 'ffn_gate', 'ffn_up', 'ffn_down', 'ffn_down_exps', 'ffn_gate_exps'].map((t) => `blk.${l}.${t}`));
}

test('more-bits layers: the first and last eighth, and every third layer in between', () => {
  // n = 40: layers 0-4 and 35-39, and 7, 10, ..., 34 ((i - 5) % 3 == 2).
  const want = [0, 1, 2, 3, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 34, 35, 36, 37, 38, 39];
  expect(Array.from({ length: 40 }, (_, i) => i).filter((i) => moreBitsLayer(i, 40))).toEqual(want);
  // n = 4: 4 / 8 = 0 and 7 * 4 / 8 = 3 (integer division): layers 2 ((2 - 0) % 3 == 2) and 3.
  expect([0, 1, 2, 3].filter((i) => moreBitsLayer(i, 4))).toEqual([2, 3]);
});

test('the mix picks the documented type per tensor name', () => {
  const mix = q4KMix(names);
  const q6k = names.filter((n) => mix(n) === 'q6_k');
  const downLayers = [0, 1, 2, 3, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 34, 35, 36, 37, 38, 39];
  // attn_v counts among the 4 attention layers: 4 / 8 = 0, 7 * 4 / 8 = 3, so indices 2 and 3 (layers 25, 35).
  const want = [
    'token_embd',
    ...downLayers.flatMap((l) => (l === 25 || l === 35 ? [`blk.${l}.attn_v`] : []).concat([`blk.${l}.ffn_down`, `blk.${l}.ffn_down_exps`])),
  ];
  expect(q6k.sort()).toEqual(want.sort());
  expect(mix('output')).toBe('q6_k');
  expect(mix('output.weight')).toBe('q6_k'); // GGUF names work too
  expect(mix('blk.25.attn_v.weight')).toBe('q6_k');
  expect(mix('blk.5.attn_v')).toBe('q4_k');
  expect(mix('blk.7.ffn_down_shexp.weight')).toBe('q6_k');
  expect(mix('blk.8.ffn_down')).toBe('q4_k');
});
