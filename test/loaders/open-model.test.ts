/**
 * Both fixtures load through both paths (GGUF and Hugging Face directory)
 * with identical configs and canonical tensor tables, and the weights read
 * back through the entries agree value for value — which proves the offsets,
 * row strides, gate/up views and expert strides.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openModelFiles } from '../../lib/loaders';
import { ModelConfig, ModelFiles, TensorEntry, TensorType } from '../../lib/loaders/types';
import { FIXTURES, FixtureName, fixtureDir, fixtureGguf, makeTmpDir, removeTmpDir } from '../helpers/fixtures';
import { modelFilesProblems } from '../helpers/model-checks';
import { readEntry } from '../helpers/tensor-read';

/** Geometry from test/fixtures/README.md (written down independently of the loader). */
const EXPECTED: Record<FixtureName, Partial<ModelConfig> & { hfDtype: TensorType }> = {
  'granite-h-tiny-dense': {
    layer_types: ['mamba', 'mamba', 'attention', 'mamba', 'mamba'],
    hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16,
    mamba_n_heads: 8, mamba_d_head: 16, mamba_d_state: 32, mamba_n_groups: 1, mamba_d_conv: 4, mamba_d_inner: 128,
    num_local_experts: 0, num_experts_per_tok: 0, shared_intermediate_size: 128, vocab_size: 512,
    tie_word_embeddings: true, rms_norm_eps: 1e-5, hfDtype: TensorType.BF16,
  },
  'granite-h-tiny-moe': {
    layer_types: ['mamba', 'attention', 'mamba', 'mamba'],
    hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 1, head_dim: 16,
    mamba_n_heads: 8, mamba_d_head: 16, mamba_d_state: 16, mamba_n_groups: 2, mamba_d_conv: 4, mamba_d_inner: 128,
    num_local_experts: 8, num_experts_per_tok: 2, intermediate_size: 16, shared_intermediate_size: 64, vocab_size: 512,
    tie_word_embeddings: false, rms_norm_eps: 1e-5, hfDtype: TensorType.F16,
  },
};

/**
 * Fields that may differ between the two paths: `source`, and
 * `mamba_chunk_size`, which GGUF does not record (the GGUF path reports the
 * default 256; config.json carries the fixture's 16 / 8).
 */
function comparable(c: ModelConfig): Omit<ModelConfig, 'source' | 'mamba_chunk_size'> {
  const { source: _s, mamba_chunk_size: _c, ...rest } = c;
  return rest;
}

/** GGUF q/k rows are permuted within each head (README "Tensor names" *); undo it. */
function unpermuteRows(values: Float32Array, rows: number, cols: number, headDim: number): Float32Array {
  const out = new Float32Array(values.length);
  const half = headDim / 2;
  for (let r = 0; r < rows; r++) {
    const head = Math.floor(r / headDim);
    const i = r % headDim;
    // GGUF row 2j holds HF row j, GGUF row 2j+1 holds HF row j + d_h/2.
    const hfRow = head * headDim + (i % 2 === 0 ? i / 2 : half + (i - 1) / 2);
    out.set(values.subarray(r * cols, (r + 1) * cols), hfRow * cols);
  }
  return out;
}

function firstMismatch(a: Float32Array, b: Float32Array, equal: (x: number, y: number) => boolean): string | null {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) if (!equal(a[i], b[i])) return `index ${i}: ${a[i]} vs ${b[i]}`;
  return null;
}

describe.each(FIXTURES)('%s', (name) => {
  let gguf: ModelFiles;
  let hf: ModelFiles;
  beforeAll(async () => {
    gguf = await openModelFiles(fixtureGguf(name));
    hf = await openModelFiles(fixtureDir(name));
  });

  test('formats, files and sizes', () => {
    expect(gguf.format).toBe('gguf');
    expect(hf.format).toBe('safetensors');
    expect(gguf.files).toEqual([fixtureGguf(name)]);
    expect(hf.files).toEqual([path.join(fixtureDir(name), 'model.safetensors')]);
    for (const m of [gguf, hf]) {
      m.files.forEach((f, i) => {
        expect(path.isAbsolute(f)).toBe(true);
        expect(m.fileSizes[i]).toBe(fs.statSync(f).size);
      });
      expect(modelFilesProblems(m)).toEqual([]);
    }
  });

  test('configs agree with each other and with the fixture README', () => {
    expect(gguf.config.source).toBe('gguf');
    expect(hf.config.source).toBe('safetensors');
    expect(comparable(gguf.config)).toEqual(comparable(hf.config));
    expect(hf.config).toMatchObject((({ hfDtype: _d, ...c }) => c)(EXPECTED[name]));
    expect(hf.config.time_step_limit).toEqual([0, Infinity]);
    const raw = JSON.parse(fs.readFileSync(path.join(fixtureDir(name), 'config.json'), 'utf8'));
    for (const f of ['embedding_multiplier', 'residual_multiplier', 'attention_multiplier', 'logits_scaling'] as const) {
      expect(gguf.config[f]).toBe(raw[f]);
    }
    expect(hf.config.mamba_chunk_size).toBe(raw.mamba_chunk_size);
    expect(Object.isFrozen(gguf.config)).toBe(true);
    expect(Object.isFrozen(hf.config.layer_types)).toBe(true);
    expect(() => {
      (hf.config.layer_types as string[]).push('mamba');
    }).toThrow(TypeError);
  });

  test('tensor tables: same canonical names, shapes and layout', () => {
    const c = hf.config;
    const nMamba = c.layer_types.filter((k) => k === 'mamba').length;
    const nAttn = c.num_hidden_layers - nMamba;
    const perLayer = 2 + 3 + (c.num_local_experts > 0 ? 4 : 0);
    const expectedCount = 2 + (c.tie_word_embeddings ? 0 : 1) + c.num_hidden_layers * perLayer + nMamba * 8 + nAttn * 4;
    expect(hf.tensors.map((t) => t.name)).toEqual(gguf.tensors.map((t) => t.name));
    expect(hf.tensors.length).toBe(expectedCount);
    expect(hf.tensors.some((t) => t.name === 'output')).toBe(!c.tie_word_embeddings);
    for (const [g, h] of gguf.tensors.map((t, i) => [t, hf.tensors[i]] as const)) {
      expect({ name: h.name, shape: h.shape }).toEqual({ name: g.name, shape: g.shape });
      expect(g.dtype).toBe(TensorType.F32);
      expect(h.dtype).toBe(EXPECTED[name].hfDtype);
      expect(g.transform).toBe('none');
      expect(h.transform).toBe(h.name.endsWith('.ssm_a') ? 'negExp' : 'none');
      const cols = g.shape[g.shape.length - 1];
      expect(g.rowBytes).toBe(cols * 4);
      expect(h.rowBytes).toBe(cols * 2);
      if (g.shape.length === 3) {
        expect(g.matrixBytes).toBe(g.shape[1] * g.rowBytes);
        const hfRowsPerExpert = /_(gate|up)_exps$/.test(h.name) ? 2 * g.shape[1] : g.shape[1];
        expect(h.matrixBytes).toBe(hfRowsPerExpert * h.rowBytes);
      } else {
        expect(g.matrixBytes).toBe(0);
        expect(h.matrixBytes).toBe(0);
      }
    }
    const entry = (m: ModelFiles, n: string) => m.tensors.find((t) => t.name === n) as TensorEntry;
    const gate = entry(hf, 'blk.0.ffn_gate');
    const up = entry(hf, 'blk.0.ffn_up');
    expect(up.sourceName).toBe(gate.sourceName);
    expect(up.offset - gate.offset).toBe(c.shared_intermediate_size * gate.rowBytes);
    expect(entry(gguf, 'blk.0.ssm_in').shape).toEqual([2 * 128 + 2 * c.mamba_n_groups * c.mamba_d_state + 8, 64]);
    expect(entry(gguf, 'blk.0.ssm_conv1d').shape).toEqual([128 + 2 * c.mamba_n_groups * c.mamba_d_state, 4]);
  });

  test('every weight reads back identically through both tables', () => {
    const headDim = hf.config.head_dim;
    const byName = new Map(hf.tensors.map((t) => [t.name, t]));
    let compared = 0;
    for (const g of gguf.tensors) {
      const h = byName.get(g.name) as TensorEntry;
      let a = readEntry(gguf, g);
      let b = readEntry(hf, h);
      let equal = (x: number, y: number) => Object.is(x, y);
      if (h.transform === 'negExp') {
        b = b.map((x) => -Math.exp(x));
        // −exp computed in float64 here vs. once, elsewhere, before the cast to f32.
        equal = (x, y) => Math.abs(x - y) <= 2 ** -22 * Math.abs(y);
      }
      if (/\.attn_[qk]$/.test(g.name)) a = unpermuteRows(a, g.shape[0], g.shape[1], headDim);
      const bad = firstMismatch(a, b, equal);
      if (bad) throw new Error(`${g.name}: GGUF and safetensors differ at ${bad}`);
      compared += a.length;
    }
    expect(compared).toBeGreaterThan(100_000);
  });

  test('metadata: GGUF kv pairs and tokenizer files', () => {
    const tokens = gguf.metadata['tokenizer.ggml.tokens'] as string[];
    expect(tokens).toHaveLength(512);
    expect(gguf.metadata['general.architecture']).toBe('granitehybrid');
    expect(typeof gguf.metadata['tokenizer.chat_template']).toBe('string');
    expect(hf.metadata.tokenizerJsonPath).toBe(path.join(fixtureDir(name), 'tokenizer.json'));
    expect(typeof hf.metadata.chat_template).toBe('string');
    expect(hf.metadata.chat_template).toBe(gguf.metadata['tokenizer.chat_template']);
  });
});

describe('path forms', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = makeTmpDir('paths');
  });
  afterAll(() => removeTmpDir(tmp));

  test('a directory holding exactly one .gguf opens it', async () => {
    const dir = path.join(tmp, 'one');
    fs.mkdirSync(dir);
    fs.copyFileSync(fixtureGguf('granite-h-tiny-dense'), path.join(dir, 'weights.gguf'));
    const m = await openModelFiles(dir);
    expect(m.format).toBe('gguf');
    expect(m.files).toEqual([path.join(dir, 'weights.gguf')]);
  });

  test('a GGUF is recognised by its magic, not its extension', async () => {
    const file = path.join(tmp, 'model.bin');
    fs.copyFileSync(fixtureGguf('granite-h-tiny-moe'), file);
    expect((await openModelFiles(file)).format).toBe('gguf');
  });

  test('relative paths come back absolute', async () => {
    const rel = path.relative(process.cwd(), fixtureGguf('granite-h-tiny-dense'));
    const m = await openModelFiles(rel);
    expect(m.files[0]).toBe(fixtureGguf('granite-h-tiny-dense'));
  });
});
