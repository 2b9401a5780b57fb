/**
 * The executor's fork/join budget (docs/ARCHITECTURE.md, Threads): on real
 * layer widths (the h-350m shape cut to one Mamba and one attention layer,
 * small vocabulary, Q8_0) a decode token wakes the thread pool at most five
 * times per layer (Mamba: in_proj, scan step, out_proj, gate+up+SwiGLU, down;
 * attention: q+k+v, attention, o, gate+up+SwiGLU, down) plus once for the
 * logits. Norms, residuals and the conv step run inline. The counts are
 * deterministic (work sizes, not timing). The same model checks that
 * prefill-then-decode equals one-shot prefill on these widths, where the
 * fused matmuls really split rows across both threads.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadModel, type Model } from '../../lib';
import { MODEL_SHAPES, type ModelShape } from '../../lib/synthetic/shapes';
import { writeSyntheticGguf } from '../../lib/synthetic/synthetic-model';
import { maxAbsDiff } from '../helpers/golden';

const SHAPE: ModelShape = { ...MODEL_SHAPES['h-350m'], name: 'h-350m-2l', vocab: 1024, layers: 2, attentionLayers: [1] };

describe('parallel regions per decode token (h-350m widths, 2 layers, Q8_0, 2 threads)', () => {
  let dir: string;
  let model: Model;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-regions-'));
    const file = path.join(dir, 'model.gguf');
    writeSyntheticGguf(file, SHAPE, { dtype: 'q8_0', seed: 7 });
    model = await loadModel(file, { device: 'cpu', threads: 2, kvCacheType: 'f32' });
  });
  afterAll(async () => {
    await model?.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a decode token runs at most 5 regions per layer + 1 for the logits', async () => {
    const seq = model.createSequence();
    await seq.eval([1, 2, 3, 4, 5, 6, 7, 8]);
    const counts: number[] = [];
    for (const id of [9, 10, 11]) {
      const before = model.handle.parallelRegionCount();
      await seq.eval([id]);
      counts.push(model.handle.parallelRegionCount() - before);
    }
    seq.dispose();
    for (const c of counts) {
      expect(c).toBeGreaterThan(0); // the counter counts
      expect(c).toBeLessThanOrEqual(5 * SHAPE.layers + 1);
    }
  });

  test('prefill then decode equals one-shot prefill (<= 1e-4)', async () => {
    const V = model.config.vocab_size;
    const prompt = Array.from({ length: 40 }, (_, i) => (i * 37 + 5) % V);
    const oneShot = await model.logits(prompt);
    const seq = model.createSequence();
    await seq.eval(prompt.slice(0, 37));
    for (let i = 37; i < 40; i++) {
      const step = await seq.eval([prompt[i]]);
      expect(maxAbsDiff(step, oneShot.subarray(i * V, (i + 1) * V))).toBeLessThanOrEqual(1e-4);
    }
    seq.dispose();
  });
});
