/** Fork, snapshot/restore and memory accounting of sequences. */
import { DisposedError, ModelFormatError, loadModel, type Model } from '../../lib';
import { FIXTURE_NAMES, fixtureDir, fixtureGguf, maxAbsDiff, rng } from '../helpers/golden';

function randomTokens(n: number, vocab: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.floor(r() * vocab));
}

for (const name of FIXTURE_NAMES) {
  describe(`sequence state on ${name}`, () => {
    let model: Model;
    beforeAll(async () => {
      model = await loadModel(fixtureGguf(name), { device: 'cpu', threads: 2 });
    });
    afterAll(async () => model?.dispose());

    test('a forked sequence continues exactly like its original', async () => {
      const V = model.config.vocab_size;
      const seq = model.createSequence();
      await seq.eval(randomTokens(19, V, 1));
      const fork = await seq.fork();
      expect(fork.position).toBe(19);
      const cont = randomTokens(5, V, 2);
      const a = await seq.eval(cont, { allLogits: true });
      const b = await fork.eval(cont, { allLogits: true });
      expect(maxAbsDiff(a, b)).toBe(0);
      // and the fork is independent: advancing it does not move the original
      await fork.eval([1, 2, 3]);
      expect(seq.position).toBe(24);
      expect(fork.position).toBe(27);
      seq.dispose();
      fork.dispose();
    });

    test('snapshot -> restore reproduces the state bit for bit and the next logits match', async () => {
      const V = model.config.vocab_size;
      const seq = model.createSequence();
      await seq.eval(randomTokens(23, V, 3));
      const snap = await seq.snapshot();
      const restored = await model.restoreSequence(snap);
      expect(restored.position).toBe(23);
      const snap2 = await restored.snapshot();
      expect(Buffer.compare(snap, snap2)).toBe(0);
      const next = randomTokens(3, V, 4);
      expect(maxAbsDiff(await seq.eval(next), await restored.eval(next))).toBe(0);
      seq.dispose();
      restored.dispose();
    });

    test('restore rejects corrupt or foreign snapshots with ModelFormatError', async () => {
      const seq = model.createSequence();
      await seq.eval([1, 2, 3]);
      const snap = await seq.snapshot();
      const bad = Buffer.from(snap);
      bad.write('XXXX', 0);
      await expect(model.restoreSequence(bad)).rejects.toThrow(/magic/);
      await expect(model.restoreSequence(snap.subarray(0, snap.length - 5))).rejects.toBeInstanceOf(ModelFormatError);
      const other = await loadModel(
        fixtureGguf(name === 'granite-h-tiny-dense' ? 'granite-h-tiny-moe' : 'granite-h-tiny-dense'),
        { threads: 1 },
      );
      await expect(other.restoreSequence(snap)).rejects.toThrow(/different dimensions/);
      await other.dispose();
      seq.dispose();
    });

    test('memory() equals what the config predicts and KV pages grow with context', async () => {
      const c = model.config;
      const nMamba = c.layer_types.filter((k) => k === 'mamba').length;
      const nAttn = c.num_hidden_layers - nMamba;
      const convChannels = c.mamba_d_inner + 2 * c.mamba_n_groups * c.mamba_d_state;
      const perSeq =
        nMamba * ((c.mamba_d_conv - 1) * convChannels + c.mamba_n_heads * c.mamba_d_head * c.mamba_d_state) * 4;
      const pageTokens = model.memory().kvPageTokens;
      // f16 KV (the default): each layer's key / value block 64-byte aligned.
      const block = Math.ceil((c.num_key_value_heads * c.head_dim * pageTokens * 2) / 64) * 64;
      const pageBytes = nAttn * 2 * block;

      const before = model.memory();
      expect(before.kvCacheType).toBe('f16');
      expect(before.kvPageBytes).toBe(pageBytes);
      const a = model.createSequence();
      const b = model.createSequence();
      let m = model.memory();
      expect(m.recurrentState - before.recurrentState).toBe(2 * perSeq);
      expect(m.kvCache - before.kvCache).toBe(0); // nothing allocated for the max context up front
      await a.eval(randomTokens(pageTokens + 1, c.vocab_size, 5)); // 2 pages
      await b.eval([7]); // 1 page
      m = model.memory();
      expect(m.kvPages - before.kvPages).toBe(3);
      expect(m.kvCache - before.kvCache).toBe(3 * pageBytes);
      expect(a.memoryBytes()).toBe(perSeq + 2 * pageBytes);
      a.dispose();
      b.dispose();
      m = model.memory();
      expect(m.kvCache).toBe(before.kvCache);
      expect(m.recurrentState).toBe(before.recurrentState);
      expect(m.weights).toBeGreaterThan(0);
      expect(m.total).toBe(m.weights + m.scratch + m.recurrentState + m.kvCache + m.prefixCache + m.pooled);
      expect(m.free).toBe(m.budget - m.total);
    });

    test('use after dispose throws DisposedError', async () => {
      const seq = model.createSequence();
      seq.dispose();
      await expect(seq.eval([1])).rejects.toBeInstanceOf(DisposedError);
      await expect(seq.fork()).rejects.toBeInstanceOf(DisposedError);
      await expect(seq.snapshot()).rejects.toBeInstanceOf(DisposedError);
    });
  });
}

test('HF directory and GGUF agree on the layer pattern, and disposed models reject further use', async () => {
  const a = await loadModel(fixtureDir('granite-h-tiny-dense'), { threads: 1 });
  const b = await loadModel(fixtureGguf('granite-h-tiny-dense'), { threads: 1 });
  expect(a.config.layer_types).toEqual(b.config.layer_types);
  await a.dispose();
  await b.dispose();
  await expect(a.logits([1])).rejects.toBeInstanceOf(DisposedError);
  expect(() => b.createSequence()).toThrow(DisposedError);
});
