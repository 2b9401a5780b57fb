/**
 * Maps each format's tensor names onto the canonical {@link TensorEntry} list
 * (types.ts) and checks that every tensor the config implies exists with the
 * exact shape it predicts (docs/MODEL.md, File formats). Extra tensors are
 * ignored. Shapes in messages are in the file's own convention (GGUF: `ne`,
 * fastest-varying first; safetensors: outermost first).
 */
import { ModelFormatError, ShapeError, UnsupportedError } from '../errors';
import { ggmlTypeLayout, ggmlTypeName, runnableTensorType } from './ggml-type';
import { GgufFile } from './gguf';
import { SafetensorsSet } from './safetensors';
import { ModelConfig, TensorEntry, TensorType } from './types';

/** One dimension with the formula that predicts it (for messages). */
interface Dim {
  readonly n: number;
  readonly label: string;
}

type Kind = 'vector' | 'conv' | 'matrix' | 'experts';

/** Where a canonical tensor lives in one format. */
interface Source {
  readonly sourceName: string;
  /** Accepted file shapes; the first is the one messages show. */
  readonly accept: readonly (readonly Dim[])[];
  /** View: first row inside each matrix (HF gate/up halves of input_linear). */
  readonly rowOffset?: number;
  /** Rows per expert in the source tensor, for matrixBytes ([E, rows, cols] only). */
  readonly matrixRows?: number;
  readonly transform?: TensorEntry['transform'];
}

/** A canonical tensor: its name, logical shape and source in the file. */
interface Wanted {
  readonly name: string;
  readonly kind: Kind;
  readonly shape: readonly number[];
  readonly source: Source;
}

/** What the tensor-table builder needs from a file format. */
interface Located {
  readonly file: number;
  readonly path: string;
  readonly shape: readonly number[];
  readonly typeName: string;
  readonly tensorType: TensorType | undefined;
  readonly offset: number;
}

/** The model geometry in the symbols of docs/MODEL.md, with labels. */
function dims(c: ModelConfig) {
  const d = (n: number, label: string): Dim => ({ n, label });
  const G = c.mamba_n_groups;
  const N = c.mamba_d_state;
  return {
    V: d(c.vocab_size, 'V'),
    D: d(c.hidden_size, 'D'),
    Z: d(2 * c.mamba_d_inner + 2 * G * N + c.mamba_n_heads, '2·d_inner + 2·G·N + H'),
    C: d(c.mamba_d_inner + 2 * G * N, 'C_conv = d_inner + 2·G·N'),
    K: d(c.mamba_d_conv, 'K'),
    H: d(c.mamba_n_heads, 'H'),
    one: d(1, '1'),
    inner: d(c.mamba_d_inner, 'd_inner'),
    innerPerGroup: d(c.mamba_d_inner / G, 'd_inner/G'),
    G: d(G, 'G'),
    Q: d(c.num_attention_heads * c.head_dim, 'n_q·d_h'),
    KV: d(c.num_key_value_heads * c.head_dim, 'n_kv·d_h'),
    Fs: d(c.shared_intermediate_size, 'F_s'),
    Fs2: d(2 * c.shared_intermediate_size, '2·F_s'),
    E: d(c.num_local_experts, 'E'),
    F: d(c.intermediate_size, 'F_e'),
    F2: d(2 * c.intermediate_size, '2·F_e'),
  };
}

type Dims = ReturnType<typeof dims>;

/** The canonical list, with a source per tensor from `source(name, kind, layer)`. */
function wantedTensors(c: ModelConfig, source: (canonical: string, layer: number, x: Dims) => Source): Wanted[] {
  const x = dims(c);
  const out: Wanted[] = [];
  const add = (name: string, kind: Kind, shape: Dim[], layer = -1) =>
    out.push({ name, kind, shape: shape.map((s) => s.n), source: source(name, layer, x) });
  add('token_embd', 'matrix', [x.V, x.D]);
  add('output_norm', 'vector', [x.D]);
  if (!c.tie_word_embeddings) add('output', 'matrix', [x.V, x.D]);
  c.layer_types.forEach((kind, i) => {
    const b = `blk.${i}.`;
    add(b + 'attn_norm', 'vector', [x.D], i);
    if (kind === 'mamba') {
      add(b + 'ssm_in', 'matrix', [x.Z, x.D], i);
      add(b + 'ssm_conv1d', 'conv', [x.C, x.K], i);
      add(b + 'ssm_conv1d_bias', 'vector', [x.C], i);
      add(b + 'ssm_dt_bias', 'vector', [x.H], i);
      add(b + 'ssm_a', 'vector', [x.H], i);
      add(b + 'ssm_d', 'vector', [x.H], i);
      add(b + 'ssm_norm', 'vector', [x.inner], i);
      add(b + 'ssm_out', 'matrix', [x.D, x.inner], i);
    } else {
      add(b + 'attn_q', 'matrix', [x.Q, x.D], i);
      add(b + 'attn_k', 'matrix', [x.KV, x.D], i);
      add(b + 'attn_v', 'matrix', [x.KV, x.D], i);
      add(b + 'attn_output', 'matrix', [x.D, x.Q], i);
    }
    add(b + 'ffn_norm', 'vector', [x.D], i);
    add(b + 'ffn_gate', 'matrix', [x.Fs, x.D], i);
    add(b + 'ffn_up', 'matrix', [x.Fs, x.D], i);
    add(b + 'ffn_down', 'matrix', [x.D, x.Fs], i);
    if (c.num_local_experts > 0) {
      add(b + 'ffn_gate_inp', 'matrix', [x.E, x.D], i);
      add(b + 'ffn_gate_exps', 'experts', [x.E, x.F, x.D], i);
      add(b + 'ffn_up_exps', 'experts', [x.E, x.F, x.D], i);
      add(b + 'ffn_down_exps', 'experts', [x.E, x.D, x.F], i);
    }
  });
  return out;
}

/** The part of a canonical name after `blk.{i}.`. */
const baseName = (canonical: string): string => canonical.replace(/^blk\.\d+\./, '');

// ---- GGUF names (docs/MODEL.md, GGUF): ne order, fastest-varying first.

function ggufSource(c: ModelConfig) {
  const moe = c.num_local_experts > 0;
  return (canonical: string, layer: number, x: Dims): Source => {
    const b = `blk.${layer}.`;
    const s = (sourceName: string, ...accept: Dim[][]): Source => ({ sourceName, accept });
    const base = baseName(canonical);
    switch (base) {
      case 'token_embd': return s('token_embd.weight', [x.D, x.V]);
      case 'output_norm': return s('output_norm.weight', [x.D]);
      case 'output': return s('output.weight', [x.D, x.V]);
      case 'attn_norm': return s(b + 'attn_norm.weight', [x.D]);
      case 'ffn_norm': return s(b + 'ffn_norm.weight', [x.D]);
      case 'ssm_in': return s(b + 'ssm_in.weight', [x.D, x.Z]);
      case 'ssm_conv1d': return s(b + 'ssm_conv1d.weight', [x.K, x.C]);
      case 'ssm_conv1d_bias': return s(b + 'ssm_conv1d.bias', [x.C]);
      case 'ssm_dt_bias': return s(b + 'ssm_dt.bias', [x.H]);
      case 'ssm_a': return s(b + 'ssm_a', [x.one, x.H], [x.H]);
      case 'ssm_d': return s(b + 'ssm_d', [x.one, x.H], [x.H]);
      case 'ssm_norm': return s(b + 'ssm_norm.weight', [x.innerPerGroup, x.G], [x.inner]);
      case 'ssm_out': return s(b + 'ssm_out.weight', [x.inner, x.D]);
      case 'attn_q': return s(b + 'attn_q.weight', [x.D, x.Q]);
      case 'attn_k': return s(b + 'attn_k.weight', [x.D, x.KV]);
      case 'attn_v': return s(b + 'attn_v.weight', [x.D, x.KV]);
      case 'attn_output': return s(b + 'attn_output.weight', [x.Q, x.D]);
      case 'ffn_gate': return s(b + (moe ? 'ffn_gate_shexp.weight' : 'ffn_gate.weight'), [x.D, x.Fs]);
      case 'ffn_up': return s(b + (moe ? 'ffn_up_shexp.weight' : 'ffn_up.weight'), [x.D, x.Fs]);
      case 'ffn_down': return s(b + (moe ? 'ffn_down_shexp.weight' : 'ffn_down.weight'), [x.Fs, x.D]);
      case 'ffn_gate_inp': return s(b + 'ffn_gate_inp.weight', [x.D, x.E]);
      case 'ffn_gate_exps': return { ...s(b + 'ffn_gate_exps.weight', [x.D, x.F, x.E]), matrixRows: x.F.n };
      case 'ffn_up_exps': return { ...s(b + 'ffn_up_exps.weight', [x.D, x.F, x.E]), matrixRows: x.F.n };
      case 'ffn_down_exps': return { ...s(b + 'ffn_down_exps.weight', [x.F, x.D, x.E]), matrixRows: x.D.n };
      default: throw new Error(`unreachable: no GGUF name for ${canonical}`);
    }
  };
}

// ---- Hugging Face names (docs/MODEL.md, safetensors): PyTorch order, outermost first.

function hfSource(canonical: string, layer: number, x: Dims): Source {
  const b = `model.layers.${layer}.`;
  const s = (sourceName: string, ...accept: Dim[][]): Source => ({ sourceName, accept });
  const base = baseName(canonical);
  switch (base) {
    case 'token_embd': return s('model.embed_tokens.weight', [x.V, x.D]);
    case 'output_norm': return s('model.norm.weight', [x.D]);
    case 'output': return s('lm_head.weight', [x.V, x.D]);
    case 'attn_norm': return s(b + 'input_layernorm.weight', [x.D]);
    case 'ffn_norm': return s(b + 'post_attention_layernorm.weight', [x.D]);
    case 'ssm_in': return s(b + 'mamba.in_proj.weight', [x.Z, x.D]);
    case 'ssm_conv1d': return s(b + 'mamba.conv1d.weight', [x.C, x.one, x.K], [x.C, x.K]);
    case 'ssm_conv1d_bias': return s(b + 'mamba.conv1d.bias', [x.C]);
    case 'ssm_dt_bias': return s(b + 'mamba.dt_bias', [x.H]);
    case 'ssm_a': return { ...s(b + 'mamba.A_log', [x.H]), transform: 'negExp' };
    case 'ssm_d': return s(b + 'mamba.D', [x.H]);
    case 'ssm_norm': return s(b + 'mamba.norm.weight', [x.inner]);
    case 'ssm_out': return s(b + 'mamba.out_proj.weight', [x.D, x.inner]);
    case 'attn_q': return s(b + 'self_attn.q_proj.weight', [x.Q, x.D]);
    case 'attn_k': return s(b + 'self_attn.k_proj.weight', [x.KV, x.D]);
    case 'attn_v': return s(b + 'self_attn.v_proj.weight', [x.KV, x.D]);
    case 'attn_output': return s(b + 'self_attn.o_proj.weight', [x.D, x.Q]);
    case 'ffn_gate': return { ...s(b + 'shared_mlp.input_linear.weight', [x.Fs2, x.D]), rowOffset: 0 };
    case 'ffn_up': return { ...s(b + 'shared_mlp.input_linear.weight', [x.Fs2, x.D]), rowOffset: x.Fs.n };
    case 'ffn_down': return s(b + 'shared_mlp.output_linear.weight', [x.D, x.Fs]);
    case 'ffn_gate_inp': return s(b + 'block_sparse_moe.router.layer.weight', [x.E, x.D]);
    case 'ffn_gate_exps':
      return { ...s(b + 'block_sparse_moe.input_linear.weight', [x.E, x.F2, x.D]), rowOffset: 0, matrixRows: x.F2.n };
    case 'ffn_up_exps':
      return { ...s(b + 'block_sparse_moe.input_linear.weight', [x.E, x.F2, x.D]), rowOffset: x.F.n, matrixRows: x.F2.n };
    case 'ffn_down_exps':
      return { ...s(b + 'block_sparse_moe.output_linear.weight', [x.E, x.D, x.F]), matrixRows: x.D.n };
    default: throw new Error(`unreachable: no safetensors name for ${canonical}`);
  }
}

// ---- shared: locate, check shape and type, build the entry

const sameShape = (a: readonly number[], b: readonly Dim[]): boolean =>
  a.length === b.length && a.every((n, i) => n === b[i].n);

function shapeMessage(path: string, sourceName: string, actual: readonly number[], expected: readonly Dim[]): string {
  const labels =
    actual.length === expected.length
      ? expected.filter((d, i) => d.n !== actual[i]).map((d) => d.label)
      : expected.map((d) => d.label);
  const show = (s: readonly number[]) => `[${s.join(', ')}]`;
  return `${path}: tensor '${sourceName}' has shape ${show(actual)}, expected ${show(expected.map((d) => d.n))} (${labels.join('; ')})`;
}

function bytesOf(type: TensorType, elements: number): number {
  const l = ggmlTypeLayout(type);
  if (!l) throw new Error(`unreachable: TensorType ${type} has no layout`);
  return (elements / l.blockSize) * l.blockBytes;
}

function buildTable(
  config: ModelConfig,
  where: string,
  source: (canonical: string, layer: number, x: Dims) => Source,
  locate: (sourceName: string) => Located | undefined,
): readonly TensorEntry[] {
  const entries: TensorEntry[] = [];
  for (const w of wantedTensors(config, source)) {
    const src = w.source;
    const t = locate(src.sourceName);
    if (!t) throw new ModelFormatError(`${where}: tensor '${src.sourceName}' is missing`);
    if (!src.accept.some((a) => sameShape(t.shape, a))) {
      throw new ShapeError(shapeMessage(t.path, src.sourceName, t.shape, src.accept[0]));
    }
    const dtype = t.tensorType;
    if (dtype === undefined) {
      throw new UnsupportedError(`${t.path}: tensor '${src.sourceName}' has type ${t.typeName}, which hybridlm does not run yet`);
    }
    const isFloat = dtype === TensorType.F32 || dtype === TensorType.F16 || dtype === TensorType.BF16;
    if (!isFloat && (w.kind === 'vector' || w.kind === 'conv')) {
      throw new UnsupportedError(
        `${t.path}: tensor '${src.sourceName}' has type ${ggmlTypeName(dtype)}; hybridlm runs vectors and conv weights only as F32, F16 or BF16`,
      );
    }
    const cols = w.kind === 'vector' ? w.shape[0] : w.shape[w.shape.length - 1];
    const l = ggmlTypeLayout(dtype);
    if (!l || cols % l.blockSize !== 0) {
      throw new ModelFormatError(
        `${t.path}: tensor '${src.sourceName}' has rows of ${cols} elements, not a multiple of the ${ggmlTypeName(dtype)} block size`,
      );
    }
    const rowBytes = bytesOf(dtype, cols);
    entries.push(Object.freeze({
      name: w.name,
      sourceName: src.sourceName,
      file: t.file,
      offset: t.offset + (src.rowOffset ?? 0) * rowBytes,
      dtype,
      shape: Object.freeze([...w.shape]),
      rowBytes,
      matrixBytes: w.kind === 'experts' ? (src.matrixRows ?? 0) * rowBytes : 0,
      transform: src.transform ?? 'none',
    }));
  }
  return Object.freeze(entries);
}

/**
 * The canonical tensor table of a GGUF file (file index 0). Throws
 * ModelFormatError naming a missing tensor, ShapeError naming a tensor whose
 * `ne` differs from what the config predicts.
 */
export function tensorTableFromGguf(gguf: GgufFile, config: ModelConfig): readonly TensorEntry[] {
  return buildTable(config, gguf.path, ggufSource(config), (name) => {
    const t = gguf.tensorByName.get(name);
    if (!t) return undefined;
    return {
      file: 0,
      path: gguf.path,
      shape: t.ne,
      typeName: ggmlTypeName(t.type),
      tensorType: runnableTensorType(t.type),
      offset: t.offset,
    };
  });
}

/**
 * The canonical tensor table of a safetensors checkpoint (one file or shards;
 * `where` names the checkpoint in "missing" messages). `ssm_a` entries carry
 * transform 'negExp' (the file holds A_log); gate/up are row views of
 * `input_linear`.
 */
export function tensorTableFromSafetensors(set: SafetensorsSet, config: ModelConfig, where: string): readonly TensorEntry[] {
  return buildTable(config, where, hfSource, (name) => {
    const file = set.fileOfTensor.get(name);
    if (file === undefined) return undefined;
    const f = set.files[file];
    const t = f.tensorByName.get(name);
    if (!t) return undefined;
    return { file, path: f.path, shape: t.shape, typeName: t.dtype, tensorType: t.tensorType, offset: t.offset };
  });
}
