/**
 * Hostile and malformed GGUF files: each gets the right error class and a
 * message naming the file and the tensor or key at fault.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelFormatError, ShapeError, UnsupportedError } from '../../lib/errors';
import { openModelFiles } from '../../lib/loaders';
import { GgmlType } from '../../lib/loaders/ggml-type';
import { GgufValueType, readGguf } from '../../lib/loaders/gguf';
import { TensorType } from '../../lib/loaders/types';
import { expectRejects } from '../helpers/expect-error';
import { fixtureGguf, makeTmpDir, removeTmpDir } from '../helpers/fixtures';
import {
  EditableGguf, dropTensor, loadGguf, removeKv, serializeGguf, setKv, setTensorShape, setTensorType, tensor, writeGguf,
} from '../helpers/gguf-edit';

let tmp: string;
let counter = 0;
const original = fs.readFileSync(fixtureGguf('granite-h-tiny-dense'));

beforeAll(() => {
  tmp = makeTmpDir('gguf-bad');
});
afterAll(() => removeTmpDir(tmp));

/** Writes `bytes` to a fresh file and returns its path. */
function write(bytes: Buffer): string {
  const p = path.join(tmp, `case-${counter++}.gguf`);
  fs.writeFileSync(p, bytes);
  return p;
}

/** Loads the dense fixture, applies `edit`, writes the result. */
function edited(edit: (g: EditableGguf) => void, fixture: 'granite-h-tiny-dense' | 'granite-h-tiny-moe' = 'granite-h-tiny-dense'): string {
  const g = loadGguf(fixtureGguf(fixture));
  edit(g);
  return write(serializeGguf(g));
}

test('the editor round-trips the fixture to an equivalent file', async () => {
  const p = edited(() => undefined);
  const a = await openModelFiles(p);
  const b = await openModelFiles(fixtureGguf('granite-h-tiny-dense'));
  expect(a.config).toEqual(b.config);
  expect(a.tensors.map((t) => [t.name, t.offset])).toEqual(b.tensors.map((t) => [t.name, t.offset]));
});

describe('header structure', () => {
  test('wrong magic', async () => {
    const bytes = Buffer.from(original);
    bytes.write('GGUX', 0, 'latin1');
    const p = write(bytes);
    await expectRejects(openModelFiles(p), ModelFormatError, p, 'not a model');
    await expectRejects(readGguf(p), ModelFormatError, p, 'not a GGUF file', 'GGUX');
  });

  test('empty and tiny files', async () => {
    const p = write(Buffer.alloc(0));
    await expectRejects(openModelFiles(p), ModelFormatError, p);
    await expectRejects(readGguf(write(Buffer.from('GG'))), ModelFormatError, 'too short');
  });

  test('truncated header', async () => {
    for (const cut of [6, 20, 30, 1000, 5000, 20000, 22500]) {
      const p = write(original.subarray(0, cut));
      const err = await expectRejects(openModelFiles(p), ModelFormatError, p);
      expect(err.message).toMatch(/ends inside the GGUF header|does not fit in the file|past the end of the file|than fit in the rest of the file/);
    }
    const inInfos = write(original.subarray(0, 22500));
    await expectRejects(openModelFiles(inInfos), ModelFormatError, 'ends inside the GGUF header', 'tensor');
  });

  test('truncated data section names the tensor that no longer fits', async () => {
    const p = write(original.subarray(0, original.length - 100));
    await expectRejects(openModelFiles(p), ModelFormatError, p, "tensor 'output_norm.weight'", 'past the end of the file');
  });

  test('file cut right after the tensor infos', async () => {
    const g = loadGguf(fixtureGguf('granite-h-tiny-dense'));
    const full = serializeGguf(g);
    const p = write(full.subarray(0, 22677));
    await expectRejects(openModelFiles(p), ModelFormatError, p);
  });

  test('version 1 is unsupported, an unknown version is malformed, big-endian is named', async () => {
    const v = (n: number) => {
      const b = Buffer.from(original);
      b.writeUInt32LE(n, 4);
      return write(b);
    };
    await expectRejects(openModelFiles(v(1)), UnsupportedError, 'version 1');
    await expectRejects(openModelFiles(v(7)), ModelFormatError, 'unknown GGUF version 7');
    await expectRejects(openModelFiles(v(0x03000000)), UnsupportedError, 'big-endian');
    expect((await openModelFiles(v(2))).format).toBe('gguf');
  });

  test('counts that cannot fit in the file', async () => {
    const tc = Buffer.from(original);
    tc.writeBigUInt64LE(1n << 40n, 8);
    await expectRejects(openModelFiles(write(tc)), ModelFormatError, 'tensor count');
    const kc = Buffer.from(original);
    kc.writeBigUInt64LE(0xffffffffffffffffn, 16);
    await expectRejects(openModelFiles(write(kc)), ModelFormatError, 'metadata count');
  });

  test('string length past the end of the file names the key', async () => {
    const b = Buffer.from(original);
    b.writeBigUInt64LE(1n << 50n, 24); // length of the first key
    const p = write(b);
    await expectRejects(openModelFiles(p), ModelFormatError, p, 'metadata key #0', 'past the end of the file');
  });

  test('u64 beyond Number.MAX_SAFE_INTEGER is rejected, not rounded', async () => {
    const p = edited((g) => {
      tensor(g, 'blk.0.ssm_in.weight').forceOffset = (1n << 60n) + 32n;
    });
    await expectRejects(openModelFiles(p), ModelFormatError, "offset of tensor 'blk.0.ssm_in.weight'", 'larger than any valid value');
  });

  test('array claiming more items than the file holds', async () => {
    const p = edited((g) => setKv(g, 'general.name', GgufValueType.STRING, 'x'));
    const b = fs.readFileSync(p);
    const at = b.indexOf('tokenizer.ggml.tokens') + 'tokenizer.ggml.tokens'.length + 4 + 4;
    b.writeBigUInt64LE(1n << 40n, at);
    await expectRejects(openModelFiles(write(b)), ModelFormatError, "metadata 'tokenizer.ggml.tokens'", 'items');
  });

  test('unknown metadata value type names the key', async () => {
    const b = Buffer.from(original);
    const at = b.indexOf('general.architecture') + 'general.architecture'.length;
    b.writeUInt32LE(77, at);
    await expectRejects(openModelFiles(write(b)), ModelFormatError, "'general.architecture'", 'unknown value type 77');
  });

  test('duplicate key and duplicate tensor', async () => {
    const dupKey = edited((g) => g.kv.push({ ...g.kv[0] }));
    await expectRejects(openModelFiles(dupKey), ModelFormatError, "'general.architecture' appears twice");
    const dupTensor = edited((g) => g.tensors.push({ ...tensor(g, 'blk.0.ssm_a') }));
    await expectRejects(openModelFiles(dupTensor), ModelFormatError, "tensor 'blk.0.ssm_a' appears twice");
  });

  test('bad general.alignment', async () => {
    const p = edited((g) => setKv(g, 'general.alignment', GgufValueType.UINT32, 24));
    await expectRejects(openModelFiles(p), ModelFormatError, 'general.alignment', '24');
  });

  test('a non-default alignment is honoured', async () => {
    const p = edited((g) => setKv(g, 'general.alignment', GgufValueType.UINT32, 64));
    const m = await openModelFiles(p);
    const b = await openModelFiles(fixtureGguf('granite-h-tiny-dense'));
    expect(m.tensors.map((t) => t.shape)).toEqual(b.tensors.map((t) => t.shape));
  });

  test('bad tensor dimension count and zero dimension', async () => {
    const p5 = edited((g) => setTensorShape(g, 'blk.0.ssm_a', [1, 1, 1, 1, 8]));
    await expectRejects(openModelFiles(p5), ModelFormatError, "tensor 'blk.0.ssm_a' has 5 dimensions");
    const p0 = edited((g) => setTensorShape(g, 'blk.0.ssm_a', [0, 8]));
    await expectRejects(openModelFiles(p0), ModelFormatError, "tensor 'blk.0.ssm_a' has ne[0] = 0");
  });
});

describe('tensor table bounds and types', () => {
  test('tensor offset past the end of the file', async () => {
    const p = edited((g) => {
      tensor(g, 'blk.1.ssm_out.weight').forceOffset = 1 << 30;
    });
    await expectRejects(openModelFiles(p), ModelFormatError, p, "tensor 'blk.1.ssm_out.weight'", 'past the end of the file');
  });

  test('tensor size past the end of the file', async () => {
    const p = edited((g) => {
      tensor(g, 'output_norm.weight').ne = [64, 1 << 20]; // data left at 64 floats
    });
    await expectRejects(openModelFiles(p), ModelFormatError, "tensor 'output_norm.weight'", 'past the end of the file');
  });

  test('misaligned tensor offset', async () => {
    const p = edited((g) => {
      tensor(g, 'blk.0.ssm_d').forceOffset = 4;
    });
    await expectRejects(openModelFiles(p), ModelFormatError, "tensor 'blk.0.ssm_d'", 'alignment 32');
  });

  test('overlapping tensors', async () => {
    const p = edited((g) => {
      tensor(g, 'blk.0.ssm_d').forceOffset = 0; // on top of token_embd
    });
    await expectRejects(openModelFiles(p), ModelFormatError, 'overlap', 'blk.0.ssm_d');
  });

  test('unknown tensor type id names the tensor and the id', async () => {
    const p = edited((g) => setTensorType(g, 'blk.2.attn_v.weight', 99));
    await expectRejects(openModelFiles(p), ModelFormatError, p, "tensor 'blk.2.attn_v.weight'", 'unknown type id 99');
  });

  test('a known type hybridlm does not run yet names the tensor and the type', async () => {
    const p = edited((g) => setTensorType(g, 'blk.0.ssm_in.weight', GgmlType.Q4_1));
    await expectRejects(openModelFiles(p), UnsupportedError, p, "tensor 'blk.0.ssm_in.weight'", 'Q4_1');
    const g = await readGguf(p, { allowUnsupportedTypes: true });
    expect(g.tensorByName.get('blk.0.ssm_in.weight')?.byteSize).toBe(328 * 2 * 20);
  });

  test('row length not a multiple of the block size', async () => {
    const p = edited((g) => {
      setTensorShape(g, 'blk.0.ssm_in.weight', [48, 328]);
      setTensorType(g, 'blk.0.ssm_in.weight', GgmlType.Q8_0);
    });
    await expectRejects(openModelFiles(p), ModelFormatError, "tensor 'blk.0.ssm_in.weight'", 'block size 32');
  });

  test('Q8_0 matrices are accepted with block row strides', async () => {
    const p = edited((g) => setTensorType(g, 'blk.0.ssm_in.weight', GgmlType.Q8_0));
    const m = await openModelFiles(p);
    const e = m.tensors.find((t) => t.name === 'blk.0.ssm_in');
    expect(e).toMatchObject({ dtype: TensorType.Q8_0, shape: [328, 64], rowBytes: 68, matrixBytes: 0 });
  });

  test('Q8_0 on a vector is refused', async () => {
    const p = edited((g) => setTensorType(g, 'blk.0.ssm_norm.weight', GgmlType.Q8_0));
    await expectRejects(openModelFiles(p), UnsupportedError, "tensor 'blk.0.ssm_norm.weight'", 'Q8_0');
  });

  test('missing tensor', async () => {
    const p = edited((g) => dropTensor(g, 'blk.3.ssm_conv1d.bias'));
    await expectRejects(openModelFiles(p), ModelFormatError, p, "tensor 'blk.3.ssm_conv1d.bias' is missing");
  });

  test('missing routed-expert tensor in a MoE file', async () => {
    const p = edited((g) => dropTensor(g, 'blk.2.ffn_up_exps.weight'), 'granite-h-tiny-moe');
    await expectRejects(openModelFiles(p), ModelFormatError, "tensor 'blk.2.ffn_up_exps.weight' is missing");
  });

  test('tensor shape inconsistent with the config', async () => {
    const p = edited((g) => setTensorShape(g, 'blk.3.ssm_in.weight', [64, 300]));
    await expectRejects(
      openModelFiles(p), ShapeError, `${p}: tensor 'blk.3.ssm_in.weight' has shape [64, 300], expected [64, 328] (2·d_inner + 2·G·N + H)`,
    );
    const conv = edited((g) => setTensorShape(g, 'blk.0.ssm_conv1d.weight', [192, 4]));
    await expectRejects(openModelFiles(conv), ShapeError, "'blk.0.ssm_conv1d.weight' has shape [192, 4], expected [4, 192]");
    const experts = edited((g) => setTensorShape(g, 'blk.0.ffn_down_exps.weight', [16, 64, 7]), 'granite-h-tiny-moe');
    await expectRejects(openModelFiles(experts), ShapeError, "'blk.0.ffn_down_exps.weight'", 'expected [16, 64, 8] (E)');
  });

  test('ssm_a and ssm_d may also be stored 1-D', async () => {
    const p = edited((g) => {
      setTensorShape(g, 'blk.0.ssm_a', [8]);
      setTensorShape(g, 'blk.0.ssm_d', [8]);
    });
    const m = await openModelFiles(p);
    expect(m.tensors.find((t) => t.name === 'blk.0.ssm_a')?.shape).toEqual([8]);
  });

  test('extra tensors are ignored but still bounds-checked', async () => {
    const ok = edited((g) => g.tensors.push({ name: 'extra.weight', ne: [8], type: GgmlType.F32, data: Buffer.alloc(32) }));
    expect((await openModelFiles(ok)).tensors.some((t) => t.sourceName === 'extra.weight')).toBe(false);
    const bad = edited((g) =>
      g.tensors.push({ name: 'extra.weight', ne: [8], type: GgmlType.F32, data: Buffer.alloc(32), forceOffset: 1 << 30 }),
    );
    await expectRejects(openModelFiles(bad), ModelFormatError, "tensor 'extra.weight'", 'past the end');
  });
});

describe('metadata → config', () => {
  test('architecture not a Granite hybrid', async () => {
    const p = edited((g) => setKv(g, 'general.architecture', GgufValueType.STRING, 'llama'));
    await expectRejects(openModelFiles(p), UnsupportedError, p, "architecture 'llama'");
    const granite = edited((g) => setKv(g, 'general.architecture', GgufValueType.STRING, 'granite'));
    await expectRejects(openModelFiles(granite), UnsupportedError, "'granite'", 'non-hybrid');
  });

  test('missing architecture', async () => {
    const p = edited((g) => removeKv(g, 'general.architecture'));
    await expectRejects(openModelFiles(p), ModelFormatError, "'general.architecture' is missing");
  });

  test('missing required key names it', async () => {
    for (const key of ['granitehybrid.embedding_length', 'granitehybrid.ssm.inner_size', 'granitehybrid.attention.head_count_kv']) {
      const p = edited((g) => removeKv(g, key));
      await expectRejects(openModelFiles(p), ModelFormatError, p, `'${key}' is missing`);
    }
  });

  test('mistyped key names it', async () => {
    const p = edited((g) => setKv(g, 'granitehybrid.block_count', GgufValueType.STRING, '5'));
    await expectRejects(openModelFiles(p), ModelFormatError, "'granitehybrid.block_count' is \"5\"");
    const nan = edited((g) => setKv(g, 'granitehybrid.attention.layer_norm_rms_epsilon', GgufValueType.FLOAT32, NaN));
    await expectRejects(openModelFiles(nan), ModelFormatError, 'layer_norm_rms_epsilon');
  });

  test('RoPE switched on, or the switch missing, is unsupported', async () => {
    const on = edited((g) => setKv(g, 'granitehybrid.rope.scaling.finetuned', GgufValueType.BOOL, true));
    await expectRejects(openModelFiles(on), UnsupportedError, 'rope.scaling.finetuned', 'RoPE');
    const missing = edited((g) => removeKv(g, 'granitehybrid.rope.scaling.finetuned'));
    await expectRejects(openModelFiles(missing), UnsupportedError, 'rope.scaling.finetuned', 'missing');
  });

  test('head_count_kv: wrong length, all attention, scalar', async () => {
    const kv = (items: number[]) => ({ itemType: GgufValueType.INT32, items });
    const short = edited((g) => setKv(g, 'granitehybrid.attention.head_count_kv', GgufValueType.ARRAY, kv([0, 0, 2, 0])));
    await expectRejects(openModelFiles(short), ModelFormatError, "'granitehybrid.attention.head_count_kv' has 4 entries", 'block_count');
    const allAttn = edited((g) => setKv(g, 'granitehybrid.attention.head_count_kv', GgufValueType.ARRAY, kv([2, 2, 2, 2, 2])));
    await expectRejects(openModelFiles(allAttn), UnsupportedError, 'non-hybrid');
    const scalarAttn = edited((g) => setKv(g, 'granitehybrid.attention.head_count_kv', GgufValueType.UINT32, 2));
    await expectRejects(openModelFiles(scalarAttn), UnsupportedError, 'non-hybrid');
  });

  test('inner_size inconsistent with the head count', async () => {
    const p = edited((g) => setKv(g, 'granitehybrid.ssm.inner_size', GgufValueType.UINT32, 100));
    await expectRejects(openModelFiles(p), ModelFormatError, 'granitehybrid.ssm.inner_size', 'granitehybrid.ssm.time_step_rank');
  });

  test('split GGUF files are unsupported', async () => {
    const p = edited((g) => setKv(g, 'split.count', GgufValueType.UINT16, 3));
    await expectRejects(openModelFiles(p), UnsupportedError, 'split');
  });

  test('tied iff output.weight is absent', async () => {
    const p = edited((g) => dropTensor(g, 'output.weight'), 'granite-h-tiny-moe');
    const m = await openModelFiles(p);
    expect(m.config.tie_word_embeddings).toBe(true);
    expect(m.tensors.some((t) => t.name === 'output')).toBe(false);
  });

  test('unset llama.cpp scales mean 1 (attention scale: 1/sqrt(d_h))', async () => {
    const p = edited((g) => {
      removeKv(g, 'granitehybrid.embedding_scale');
      setKv(g, 'granitehybrid.residual_scale', GgufValueType.FLOAT32, 0);
      removeKv(g, 'granitehybrid.attention.scale');
    });
    const c = (await openModelFiles(p)).config;
    expect([c.embedding_multiplier, c.residual_multiplier, c.attention_multiplier]).toEqual([1, 1, 0.25]);
  });
});

describe('paths', () => {
  test('missing path', async () => {
    const p = path.join(tmp, 'does-not-exist.gguf');
    await expectRejects(openModelFiles(p), ModelFormatError, p, 'no such file');
  });

  test('empty directory and directory with two GGUF files', async () => {
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    await expectRejects(openModelFiles(empty), ModelFormatError, empty, 'not a model directory');
    const two = path.join(tmp, 'two');
    fs.mkdirSync(two);
    fs.copyFileSync(fixtureGguf('granite-h-tiny-dense'), path.join(two, 'a.gguf'));
    fs.copyFileSync(fixtureGguf('granite-h-tiny-moe'), path.join(two, 'b.gguf'));
    await expectRejects(openModelFiles(two), ModelFormatError, two, 'a.gguf, b.gguf');
  });

  test('a directory named *.gguf inside a model directory is not followed', async () => {
    const outer = path.join(tmp, 'outer');
    fs.mkdirSync(path.join(outer, 'inner.gguf'), { recursive: true });
    await expectRejects(openModelFiles(outer), ModelFormatError, 'inner.gguf', 'not a regular file');
  });
});
