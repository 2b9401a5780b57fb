/**
 * Hugging Face directories: config.json validation, safetensors header
 * validation, sharded checkpoints. Each bad input gets the right error class
 * and a message naming the file and the field or tensor at fault.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelFormatError, ShapeError, UnsupportedError } from '../../lib/errors';
import { openModelFiles } from '../../lib/loaders';
import { readSafetensors } from '../../lib/loaders/safetensors';
import { ModelFiles } from '../../lib/loaders/types';
import { expectRejects } from '../helpers/expect-error';
import { FixtureName, copyHfFixture, fixtureDir, makeTmpDir, removeTmpDir } from '../helpers/fixtures';
import { modelFilesProblems } from '../helpers/model-checks';
import { EditableSafetensors, entry, loadSafetensors, rawSafetensors, writeSafetensors } from '../helpers/safetensors-edit';
import { readEntry } from '../helpers/tensor-read';

let tmp: string;
let counter = 0;

beforeAll(() => {
  tmp = makeTmpDir('hf-bad');
});
afterAll(() => removeTmpDir(tmp));

/** A copy of a fixture's HF files with config.json edited; returns the directory. */
function withConfig(edit: (c: Record<string, unknown>) => void, fixture: FixtureName = 'granite-h-tiny-dense'): string {
  return copyHfFixture(fixture, path.join(tmp, `cfg-${counter++}`), edit);
}

/** A copy of a fixture's HF files with the safetensors file replaced. */
function withWeights(bytes: Buffer | ((st: EditableSafetensors) => void), fixture: FixtureName = 'granite-h-tiny-dense') {
  const dir = copyHfFixture(fixture, path.join(tmp, `st-${counter++}`));
  const file = path.join(dir, 'model.safetensors');
  if (Buffer.isBuffer(bytes)) {
    fs.writeFileSync(file, bytes);
  } else {
    const st = loadSafetensors(file);
    bytes(st);
    writeSafetensors(st, file);
  }
  return { dir, file };
}

const configPath = (dir: string) => path.join(dir, 'config.json');

describe('config.json', () => {
  test('missing required field names the field and the file', async () => {
    for (const field of ['hidden_size', 'mamba_n_heads', 'logits_scaling', 'rms_norm_eps']) {
      const dir = withConfig((c) => delete c[field]);
      await expectRejects(openModelFiles(dir), ModelFormatError, configPath(dir), `'${field}' is missing`);
    }
  });

  test('mistyped field', async () => {
    const dir = withConfig((c) => (c.hidden_size = '64'));
    await expectRejects(openModelFiles(dir), ModelFormatError, configPath(dir), "'hidden_size' is \"64\"");
    const neg = withConfig((c) => (c.num_hidden_layers = -1));
    await expectRejects(openModelFiles(neg), ModelFormatError, "'num_hidden_layers' is -1");
    const kind = withConfig((c) => ((c.layer_types as string[])[1] = 'conv'));
    await expectRejects(openModelFiles(kind), ModelFormatError, "'layer_types[1]' is \"conv\"");
  });

  test('model_type not a Granite hybrid', async () => {
    const dir = withConfig((c) => {
      c.model_type = 'llama';
      c.architectures = ['LlamaForCausalLM'];
    });
    await expectRejects(openModelFiles(dir), UnsupportedError, configPath(dir), "model_type 'llama'");
    const archOnly = withConfig((c) => {
      delete c.model_type;
      c.architectures = ['MambaForCausalLM'];
    });
    await expectRejects(openModelFiles(archOnly), UnsupportedError, 'MambaForCausalLM');
    const neither = withConfig((c) => {
      delete c.model_type;
      delete c.architectures;
    });
    await expectRejects(openModelFiles(neither), ModelFormatError, "'model_type' is missing");
  });

  test('non-hybrid siblings are refused', async () => {
    const allAttn = withConfig((c) => (c.layer_types = ['attention', 'attention', 'attention', 'attention', 'attention']));
    await expectRejects(openModelFiles(allAttn), UnsupportedError, configPath(allAttn), 'non-hybrid');
    const rope = withConfig((c) => (c.position_embedding_type = 'rope'));
    await expectRejects(openModelFiles(rope), UnsupportedError, "position_embedding_type 'rope'");
  });

  test('unsupported options', async () => {
    const act = withConfig((c) => (c.hidden_act = 'gelu'));
    await expectRejects(openModelFiles(act), UnsupportedError, 'hidden_act "gelu"');
    const bias = withConfig((c) => (c.attention_bias = true));
    await expectRejects(openModelFiles(bias), UnsupportedError, 'attention_bias true');
  });

  test('layer_types length must equal num_hidden_layers', async () => {
    const dir = withConfig((c) => (c.num_hidden_layers = 4));
    await expectRejects(openModelFiles(dir), ModelFormatError, "'layer_types' has 5 entries", "'num_hidden_layers' is 4");
  });

  test('layers_block_type is accepted in place of layer_types', async () => {
    const dir = withConfig((c) => {
      c.layers_block_type = c.layer_types;
      delete c.layer_types;
    });
    const m = await openModelFiles(dir);
    expect(m.config.layer_types).toEqual(['mamba', 'mamba', 'attention', 'mamba', 'mamba']);
  });

  test('mamba_d_head: "auto" derives d_inner/H; a wrong value is named', async () => {
    const auto = withConfig((c) => (c.mamba_d_head = 'auto'));
    expect((await openModelFiles(auto)).config.mamba_d_head).toBe(16);
    const wrong = withConfig((c) => (c.mamba_d_head = 15));
    await expectRejects(openModelFiles(wrong), ModelFormatError, "'mamba_d_head'", '8 × 15', 'd_inner 128');
  });

  test('time_step_limit: Python Infinity literal and a finite clamp', async () => {
    const dir = withConfig(() => undefined);
    const text = fs.readFileSync(configPath(dir), 'utf8').replace('{', '{\n  "time_step_limit": [0.0, Infinity],');
    fs.writeFileSync(configPath(dir), text);
    expect((await openModelFiles(dir)).config.time_step_limit).toEqual([0, Infinity]);
    const finite = withConfig((c) => (c.time_step_limit = [0.001, 0.1]));
    expect((await openModelFiles(finite)).config.time_step_limit).toEqual([0.001, 0.1]);
    const bad = withConfig((c) => (c.time_step_limit = [1, 0]));
    await expectRejects(openModelFiles(bad), ModelFormatError, 'time_step_limit');
  });

  test('bad JSON', async () => {
    const dir = withConfig(() => undefined);
    fs.writeFileSync(configPath(dir), '{ "hidden_size": 64, ');
    await expectRejects(openModelFiles(dir), ModelFormatError, configPath(dir), 'invalid JSON');
    fs.writeFileSync(configPath(dir), '[1, 2]');
    await expectRejects(openModelFiles(dir), ModelFormatError, configPath(dir), 'not a JSON object');
  });

  test('bad tokenizer_config.json is named', async () => {
    const dir = withConfig(() => undefined);
    fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), '{');
    await expectRejects(openModelFiles(dir), ModelFormatError, path.join(dir, 'tokenizer_config.json'));
  });

  test('config.json without weights', async () => {
    const dir = withConfig(() => undefined);
    fs.rmSync(path.join(dir, 'model.safetensors'));
    await expectRejects(openModelFiles(dir), ModelFormatError, dir, 'no model.safetensors');
  });
});

describe('safetensors header', () => {
  const good = fs.readFileSync(path.join(fixtureDir('granite-h-tiny-dense'), 'model.safetensors'));
  const headerLen = Number(good.readBigUInt64LE(0));
  const data = good.subarray(8 + headerLen);

  test('header length past the end of the file', async () => {
    const bytes = Buffer.from(good);
    bytes.writeBigUInt64LE(BigInt(good.length), 0);
    const { dir, file } = withWeights(bytes);
    await expectRejects(openModelFiles(dir), ModelFormatError, file, 'header length', 'past the end of the file');
    const huge = Buffer.from(good);
    huge.writeBigUInt64LE(0xffffffffffffffffn, 0);
    await expectRejects(openModelFiles(withWeights(huge).dir), ModelFormatError, 'past the end of the file');
  });

  test('file shorter than the length prefix', async () => {
    const { dir, file } = withWeights(Buffer.from([1, 2, 3]));
    await expectRejects(openModelFiles(dir), ModelFormatError, file, 'too short');
  });

  test('bad JSON and non-object JSON', async () => {
    const { dir, file } = withWeights(rawSafetensors(Buffer.from('{"a": [1, 2'), data));
    await expectRejects(openModelFiles(dir), ModelFormatError, file, 'not valid JSON');
    const arr = withWeights(rawSafetensors(Buffer.from('[1, 2, 3]'), data));
    await expectRejects(openModelFiles(arr.dir), ModelFormatError, arr.file, 'not a JSON object');
  });

  test('invalid UTF-8 in the header', async () => {
    const { dir } = withWeights(rawSafetensors(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), data));
    await expectRejects(openModelFiles(dir), ModelFormatError, 'not valid JSON');
  });

  test('tensor data past the end of the file', async () => {
    const { dir, file } = withWeights((st) => {
      entry(st, 'model.layers.1.mamba.D').data_offsets = [1 << 30, (1 << 30) + 16];
    });
    await expectRejects(openModelFiles(dir), ModelFormatError, file, "tensor 'model.layers.1.mamba.D'", 'past the end of the file');
  });

  test('truncated data section', async () => {
    const { dir, file } = withWeights(good.subarray(0, good.length - 64));
    await expectRejects(openModelFiles(dir), ModelFormatError, file, "tensor 'model.norm.weight'", 'past the end of the file');
  });

  test('byte size disagreeing with shape × dtype', async () => {
    const { dir } = withWeights((st) => {
      entry(st, 'model.layers.0.mamba.D').shape = [9];
    });
    await expectRejects(openModelFiles(dir), ModelFormatError, "tensor 'model.layers.0.mamba.D' has 16 bytes of data, expected 18");
  });

  test('overlapping tensors', async () => {
    const { dir } = withWeights((st) => {
      entry(st, 'model.layers.0.mamba.D').data_offsets = [...entry(st, 'model.layers.0.mamba.A_log').data_offsets];
    });
    await expectRejects(openModelFiles(dir), ModelFormatError, 'overlap', 'model.layers.0.mamba.D');
  });

  test('malformed entries', async () => {
    const cases: [(st: EditableSafetensors) => void, string][] = [
      [(st) => ((entry(st, 'model.norm.weight') as unknown as Record<string, unknown>).dtype = 7), "has no 'dtype' string"],
      [(st) => (entry(st, 'model.norm.weight').shape = [-64]), "invalid 'shape'"],
      [(st) => (entry(st, 'model.norm.weight').data_offsets = [10, 5]), "invalid 'data_offsets'"],
      [(st) => (entry(st, 'model.norm.weight').dtype = 'Q9'), "unknown dtype 'Q9'"],
      [(st) => (entry(st, 'model.norm.weight').dtype = 'toString'), "unknown dtype 'toString'"],
    ];
    for (const [edit, fragment] of cases) {
      const { dir } = withWeights(edit);
      await expectRejects(openModelFiles(dir), ModelFormatError, "tensor 'model.norm.weight'", fragment);
    }
  });

  test('dtype hybridlm does not run names the tensor', async () => {
    const { dir, file } = withWeights((st) => {
      const e = entry(st, 'model.layers.0.mamba.D'); // 8 × BF16 = 16 bytes = 2 × I64
      e.dtype = 'I64';
      e.shape = [2];
    });
    await expectRejects(openModelFiles(dir), UnsupportedError, file, "tensor 'model.layers.0.mamba.D'", 'I64');
    await expect(readSafetensors(file, { allowUnsupportedTypes: true })).resolves.toBeDefined();
  });

  test('missing tensor names it and the file', async () => {
    const { dir, file } = withWeights((st) => {
      delete st.header['model.layers.3.mamba.in_proj.weight'];
    });
    await expectRejects(openModelFiles(dir), ModelFormatError, file, "tensor 'model.layers.3.mamba.in_proj.weight' is missing");
  });

  test('untied model without lm_head.weight', async () => {
    const { dir } = withWeights((st) => {
      delete st.header['lm_head.weight'];
    }, 'granite-h-tiny-moe');
    await expectRejects(openModelFiles(dir), ModelFormatError, "tensor 'lm_head.weight' is missing");
  });

  test('tensor shape inconsistent with the config', async () => {
    const { dir, file } = withWeights((st) => {
      entry(st, 'model.layers.1.mamba.in_proj.weight').shape = [164, 128]; // same byte size
    });
    await expectRejects(
      openModelFiles(dir), ShapeError,
      `${file}: tensor 'model.layers.1.mamba.in_proj.weight' has shape [164, 128], expected [328, 64] (2·d_inner + 2·G·N + H; D)`,
    );
    const experts = withWeights((st) => {
      entry(st, 'model.layers.2.block_sparse_moe.input_linear.weight').shape = [8, 64, 32];
    }, 'granite-h-tiny-moe');
    await expectRejects(openModelFiles(experts.dir), ShapeError, 'input_linear.weight', '[8, 32, 64]', '2·F_e; D');
  });

  test('conv1d may be stored squeezed [C, K]', async () => {
    const { dir } = withWeights((st) => {
      entry(st, 'model.layers.0.mamba.conv1d.weight').shape = [192, 4];
    });
    const m = await openModelFiles(dir);
    expect(m.tensors.find((t) => t.name === 'blk.0.ssm_conv1d')?.shape).toEqual([192, 4]);
  });
});

describe('sharded checkpoints', () => {
  /** Splits a fixture's safetensors into two shards plus an index. */
  function shard(fixture: FixtureName, editIndex?: (weightMap: Record<string, string>) => void): string {
    const dir = copyHfFixture(fixture, path.join(tmp, `shard-${counter++}`));
    const single = path.join(dir, 'model.safetensors');
    const st = loadSafetensors(single);
    fs.rmSync(single);
    const names = Object.keys(st.header).filter((n) => n !== '__metadata__');
    const weightMap: Record<string, string> = {};
    const parts = [names.slice(0, names.length >> 1), names.slice(names.length >> 1)];
    parts.forEach((part, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      const header: EditableSafetensors['header'] = {};
      const chunks: Buffer[] = [];
      let at = 0;
      for (const n of part) {
        const e = entry(st, n);
        const bytes = st.data.subarray(e.data_offsets[0], e.data_offsets[1]);
        header[n] = { ...e, data_offsets: [at, at + bytes.length] };
        chunks.push(bytes);
        at += bytes.length;
        weightMap[n] = file;
      }
      writeSafetensors({ header, data: Buffer.concat(chunks) }, path.join(dir, file));
    });
    editIndex?.(weightMap);
    fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    return dir;
  }

  test.each(['granite-h-tiny-dense', 'granite-h-tiny-moe'] as const)('%s: shards read back like the single file', async (fixture) => {
    const sharded = await openModelFiles(shard(fixture));
    const single = await openModelFiles(fixtureDir(fixture));
    expect(sharded.files).toHaveLength(2);
    expect(modelFilesProblems(sharded)).toEqual([]);
    expect(sharded.config).toEqual(single.config);
    expect(new Set(sharded.tensors.map((t) => t.file))).toEqual(new Set([0, 1]));
    const read = (m: ModelFiles) => m.tensors.map((t) => Array.from(readEntry(m, t)));
    expect(read(sharded)).toEqual(read(single));
  });

  test('shard names must be plain file names', async () => {
    const dir = shard('granite-h-tiny-dense', (wm) => (wm['model.norm.weight'] = '../model-00001-of-00002.safetensors'));
    await expectRejects(openModelFiles(dir), ModelFormatError, 'model.safetensors.index.json', "'model.norm.weight'", 'invalid shard');
  });

  test('a weight_map entry pointing at the wrong shard', async () => {
    const dir = shard('granite-h-tiny-dense', (wm) => {
      const n = Object.keys(wm)[0];
      wm[n] = wm[n].replace('00001-of', '00002-of');
    });
    await expectRejects(openModelFiles(dir), ModelFormatError, 'model.safetensors.index.json', 'does not hold it');
  });

  test('a missing shard file is named', async () => {
    const dir = shard('granite-h-tiny-dense');
    fs.rmSync(path.join(dir, 'model-00002-of-00002.safetensors'));
    await expectRejects(openModelFiles(dir), ModelFormatError, 'model-00002-of-00002.safetensors', 'cannot open');
  });
});
