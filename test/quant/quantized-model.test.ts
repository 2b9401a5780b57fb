/**
 * A quantized synthetic model (every weight format, the Q4_K_M mix, dense and
 * MoE) against the float model of exactly its decoded weights (written as F32,
 * run by the F32 path the golden tests pin to HF). Every block format rounds
 * its activations to int8 blocks for integer dot products (32 values for
 * Q8_0 / Q4_0, 256 for the K-quants), so all get the quantized-activation
 * tolerance. Runs on the active SIMD path (the lower
 * paths run the same kernels through test/kernels and test/quant/blocks).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadModel } from '../../lib';
import type { ModelShape } from '../../lib/synthetic/shapes';
import { writeSyntheticGguf, type SyntheticDType } from '../../lib/synthetic/synthetic-model';
import { expectClose } from '../kernels/helpers';

const base = {
  vocab: 256, hidden: 256, dState: 16, groups: 1, dConv: 4, embeddingMultiplier: 12, heads: 4, kvHeads: 2,
  mambaHeads: 8, mambaHeadDim: 32, attentionMultiplier: 0.0625, residualMultiplier: 0.22, logitsScaling: 4,
};
const DENSE: ModelShape = { ...base, name: 'q-dense', layers: 2, attentionLayers: [1], experts: 0, topK: 0, expertFf: 256, sharedFf: 256 };
const MOE: ModelShape = { ...base, name: 'q-moe', layers: 2, attentionLayers: [0], experts: 4, topK: 2, expertFf: 256, sharedFf: 256 };

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hybridlm-qmodel-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function logits(file: string, tokens: number[]): Promise<Float32Array> {
  const model = await loadModel(file, { threads: 2 });
  try {
    const seq = model.createSequence();
    const a = await seq.eval(tokens.slice(0, 9)); // prefill (GEMM paths)
    const b = await seq.eval(tokens.slice(9, 10)); // decode (GEMV paths)
    seq.dispose();
    return Float32Array.of(...a, ...b);
  } finally {
    await model.dispose();
  }
}

describe('quantized model vs the float model of its decoded weights', () => {
  test.each([
    ['q4_k_m', 'dense', DENSE],
    ['q4_0', 'dense', DENSE],
    ['q5_k', 'moe', MOE],
    ['q4_k_m', 'moe', MOE],
    ['q8_0', 'dense', DENSE],
  ] as Array<[SyntheticDType, string, ModelShape]>)('%s %s', async (dtype, _kind, shape) => {
    const q = path.join(dir, `${shape.name}-${dtype}.gguf`);
    const f = path.join(dir, `${shape.name}-${dtype}-f32.gguf`);
    writeSyntheticGguf(q, shape, { dtype, seed: 3 });
    writeSyntheticGguf(f, shape, { dtype, seed: 3, storeDequantized: true });
    const tokens = Array.from({ length: 10 }, (_, i) => (i * 97 + 5) % shape.vocab);
    const got = await logits(q, tokens);
    const want = await logits(f, tokens);
    // One scale per 256 activations (K-quants) rounds coarser than one per 32.
    const tol = { rtol: 2e-2, atol: dtype === 'q8_0' || dtype === 'q4_0' ? 2e-2 : 4e-2, nmse: 1e-4 };
    expectClose(`${dtype} ${shape.name} logits`, got, Array.from(want), tol);
  });
});
