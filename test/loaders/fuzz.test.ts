/**
 * Fuzz: 1,000 corrupted copies of fixture files (byte flips concentrated in
 * the GGUF header and tensor table, planted extreme integers, truncations,
 * safetensors header corruptions). Each must either open with a valid frozen
 * config whose every tensor lies inside its file, or throw a HybridLMError
 * subclass — never another exception, never a hang. Seeded, so a failure
 * reproduces; the failing case is printed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HybridLMError } from '../../lib/errors';
import { openModelFiles } from '../../lib/loaders';
import { parseGgufBuffer } from '../../lib/loaders/gguf';
import { copyHfFixture, fixtureGguf, makeTmpDir, removeTmpDir } from '../helpers/fixtures';
import { modelFilesProblems } from '../helpers/model-checks';
import { prng as rng } from '../helpers/random';

/** Fixed by default; set HYBRIDLM_FUZZ_SEED to explore other corruptions. */
const SEED = Number(process.env.HYBRIDLM_FUZZ_SEED ?? 0x9e3779b9);


interface Outcome {
  opened: number;
  typed: number;
  failures: string[];
}

async function check(file: string, label: string, out: Outcome): Promise<void> {
  try {
    const m = await openModelFiles(file);
    const problems = modelFilesProblems(m);
    if (problems.length) out.failures.push(`${label}: opened with problems: ${problems.slice(0, 3).join('; ')}`);
    else out.opened++;
  } catch (err) {
    if (err instanceof HybridLMError) out.typed++;
    else out.failures.push(`${label}: ${(err as Error)?.constructor?.name}: ${(err as Error)?.stack ?? String(err)}`);
  }
}

/** Overwrites bytes of an open file in place, returning a function that restores them. */
function patch(fd: number, original: Buffer, edits: Map<number, number>): () => void {
  for (const [pos, byte] of edits) fs.writeSync(fd, Buffer.from([byte]), 0, 1, pos);
  return () => {
    for (const pos of edits.keys()) fs.writeSync(fd, original, pos, 1, pos);
  };
}

let tmp: string;
beforeAll(() => {
  tmp = makeTmpDir('fuzz');
});
afterAll(() => removeTmpDir(tmp));

test('1,000 corrupted model files: a valid model or a typed error, nothing else', async () => {
  const rand = rng(SEED);
  const int = (n: number) => Math.floor(rand() * n);
  const out: Outcome = { opened: 0, typed: 0, failures: [] };

  // ---- GGUF (MoE fixture: both expert and shared-MLP tensors in the table)
  const gguf = fs.readFileSync(fixtureGguf('granite-h-tiny-moe'));
  const headerEnd = parseGgufBuffer(gguf, 'fixture').dataOffset;
  const ggufFile = path.join(tmp, 'fuzz.gguf');
  fs.writeFileSync(ggufFile, gguf);
  const fd = fs.openSync(ggufFile, 'r+');
  try {
    // 550 cases of 1–8 random byte edits, 85 % inside the header and tensor table.
    for (let i = 0; i < 550; i++) {
      const edits = new Map<number, number>();
      const n = 1 + int(8);
      for (let j = 0; j < n; j++) {
        const pos = rand() < 0.85 ? int(headerEnd) : int(gguf.length);
        const kind = int(4);
        edits.set(pos, kind === 0 ? gguf[pos] ^ (1 << int(8)) : kind === 1 ? int(256) : kind === 2 ? 0xff : 0);
      }
      const restore = patch(fd, gguf, edits);
      await check(ggufFile, `gguf flip #${i} ${JSON.stringify([...edits])}`, out);
      restore();
    }
    // 150 cases planting an extreme integer (u32 or u64) at a random header position.
    const extremes = [0n, 1n, 0x7fffffffn, 0xffffffffn, 1n << 32n, (1n << 53n) + 1n, 1n << 63n, 0xffffffffffffffffn];
    for (let i = 0; i < 150; i++) {
      const pos = int(headerEnd - 8);
      const width = rand() < 0.5 ? 4 : 8;
      const v = extremes[int(extremes.length)];
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(v);
      const edits = new Map<number, number>();
      for (let j = 0; j < width; j++) edits.set(pos + j, b[j]);
      const restore = patch(fd, gguf, edits);
      await check(ggufFile, `gguf int #${i} at ${pos} width ${width} value ${v}`, out);
      restore();
    }
  } finally {
    fs.closeSync(fd);
  }
  // 150 truncations, most of them inside or just after the header.
  const truncFile = path.join(tmp, 'fuzz-trunc.gguf');
  for (let i = 0; i < 150; i++) {
    const len = rand() < 0.75 ? int(headerEnd + 1024) : int(gguf.length);
    fs.writeFileSync(truncFile, gguf.subarray(0, len));
    await check(truncFile, `gguf truncated to ${len}`, out);
  }

  // ---- safetensors header corruptions (dense fixture, BF16)
  const dir = copyHfFixture('granite-h-tiny-dense', path.join(tmp, 'hf'));
  const stFile = path.join(dir, 'model.safetensors');
  const st = fs.readFileSync(stFile);
  const stHeaderEnd = 8 + Number(st.readBigUInt64LE(0));
  const jsonish = Buffer.from('{}[]",:0123456789- eE.');
  const sfd = fs.openSync(stFile, 'r+');
  try {
    for (let i = 0; i < 120; i++) {
      const edits = new Map<number, number>();
      const n = 1 + int(4);
      for (let j = 0; j < n; j++) {
        const pos = int(stHeaderEnd);
        edits.set(pos, pos < 8 ? int(256) : rand() < 0.7 ? jsonish[int(jsonish.length)] : int(256));
      }
      const restore = patch(sfd, st, edits);
      await check(dir, `safetensors flip #${i} ${JSON.stringify([...edits])}`, out);
      restore();
    }
  } finally {
    fs.closeSync(sfd);
  }
  for (let i = 0; i < 30; i++) {
    const len = rand() < 0.5 ? int(stHeaderEnd + 64) : int(st.length);
    fs.writeFileSync(stFile, st.subarray(0, len));
    await check(dir, `safetensors truncated to ${len}`, out);
  }
  fs.writeFileSync(stFile, st);

  const total = out.opened + out.typed + out.failures.length;
  if (process.env.HYBRIDLM_FUZZ_VERBOSE) console.log(`seed ${SEED}: opened ${out.opened}, typed errors ${out.typed}`);
  expect(total).toBe(1000);
  if (out.failures.length) throw new Error(`${out.failures.length} bad outcomes; first:\n${out.failures.slice(0, 5).join('\n\n')}`);
  // Sanity: the corruption reaches the validators and some copies stay loadable.
  expect(out.typed).toBeGreaterThan(300);
  expect(out.opened).toBeGreaterThan(20);
}, 60_000);
