/**
 * Hostile files through the whole loadModel path (TS validation + native
 * mapping + one eval): corrupted headers, tensor tables and truncations either
 * load with a valid config or throw a HybridLMError — never crash the process.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { HybridLMError, loadModel } from '../../lib';
import { readGguf } from '../../lib/loaders/gguf';
import { fixtureGguf, rng } from '../helpers/golden';

const COPIES = 1000;

test(`${COPIES} corrupted GGUF copies load validly or throw HybridLMError`, async () => {
  const src = fixtureGguf('granite-h-tiny-moe');
  const original = fs.readFileSync(src);
  const gguf = await readGguf(src);
  // The tensor-info table sits right before the (aligned) data section.
  let tableBytes = 0;
  for (const t of gguf.tensors) tableBytes += 8 + Buffer.byteLength(t.name) + 4 + 8 * t.ne.length + 4 + 8;
  const headerEnd = gguf.dataOffset;
  const tableStart = Math.max(0, headerEnd - tableBytes - gguf.alignment);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hybridlm-fuzz-'));
  const file = path.join(dir, 'model.gguf');
  const rand = rng(12345);
  const pick = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo));
  let loaded = 0;
  let rejected = 0;
  try {
    for (let i = 0; i < COPIES; i++) {
      let bytes = Buffer.from(original);
      const mode = i % 4;
      if (mode === 3) {
        bytes = bytes.subarray(0, pick(0, bytes.length)); // truncation anywhere
      } else {
        const flips = 1 + pick(0, 8);
        for (let f = 0; f < flips; f++) {
          const at = mode === 0 ? pick(0, 64) : mode === 1 ? pick(tableStart, headerEnd) : pick(0, headerEnd);
          bytes[at] ^= 1 << pick(0, 8);
        }
      }
      fs.writeFileSync(file, bytes);
      try {
        const model = await loadModel(file, { threads: 1 });
        expect(Object.isFrozen(model.config)).toBe(true);
        expect(model.config.vocab_size).toBeGreaterThan(0);
        const logits = await model.logits([0, 1]);
        expect(logits.length).toBe(2 * model.config.vocab_size);
        await model.dispose();
        loaded++;
      } catch (err) {
        if (!(err instanceof HybridLMError)) throw new Error(`copy ${i} (mode ${mode}) threw a non-HybridLMError: ${String(err)}`);
        rejected++;
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  expect(loaded + rejected).toBe(COPIES);
  expect(rejected).toBeGreaterThan(0);
});
