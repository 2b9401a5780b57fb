/**
 * Weight-space error of quantized GGUFs against their float source: per block
 * format, Σ(x − x̂)² / Σx² over every matrix both files store in that format
 * (decoded with lib/quant/blocks.ts). Unweighted on purpose: a neutral measure,
 * not the importance-weighted objective the search minimizes.
 */
import * as fs from 'fs';
import { bf16BitsToF32, f16BitsToF32 } from '../../lib/dtype';
import { readGguf, type GgufTensorInfo } from '../../lib/loaders/gguf';
import { dequantizeBlocks, type BlockFormat } from '../../lib/quant/blocks';

const FORMAT: Partial<Record<number, BlockFormat>> = { 8: 'q8_0', 12: 'q4_k', 14: 'q6_k' };

function bytesOf(file: string, t: GgufTensorInfo): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(t.byteSize);
    fs.readSync(fd, b, 0, b.length, t.offset);
    return b;
  } finally {
    fs.closeSync(fd);
  }
}

function floats(file: string, t: GgufTensorInfo, n: number): Float32Array {
  const b = bytesOf(file, t);
  const type = t.type as number;
  if (type === 0) return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + 4 * n));
  return Float32Array.from({ length: n }, (_, i) => (type === 1 ? f16BitsToF32 : bf16BitsToF32)(b.readUInt16LE(2 * i)));
}

/** Per format both files share for a tensor: [relative squared error of a, of b, tensor count]. */
export async function weightErrors(src: string, a: string, b: string): Promise<Map<BlockFormat, [number, number, number]>> {
  const [gs, ga, gb] = await Promise.all([readGguf(src), readGguf(a), readGguf(b)]);
  const sums = new Map<BlockFormat, [number, number, number, number]>();
  for (const t of gs.tensors) {
    const ta = ga.tensorByName.get(t.name);
    const tb = gb.tensorByName.get(t.name);
    const fa = ta && FORMAT[ta.type as number];
    if (!ta || !tb || !fa || fa !== FORMAT[tb.type as number] || FORMAT[t.type as number]) continue;
    const n = t.ne.reduce((x, y) => x * y, 1);
    const x = floats(src, t, n);
    const ya = new Float32Array(n);
    const yb = new Float32Array(n);
    dequantizeBlocks(fa, bytesOf(a, ta), ya);
    dequantizeBlocks(fa, bytesOf(b, tb), yb);
    const s = sums.get(fa) ?? [0, 0, 0, 0];
    for (let i = 0; i < n; i++) {
      s[0] += (x[i] - ya[i]) ** 2;
      s[1] += (x[i] - yb[i]) ** 2;
      s[2] += x[i] ** 2;
    }
    s[3]++;
    sums.set(fa, s);
  }
  return new Map([...sums].map(([f, [ea, eb, ss, c]]) => [f, [ea / ss, eb / ss, c]]));
}
