/**
 * `hybridlm inspect MODEL`: architecture, layer pattern, tensor table with
 * dtypes, parameter count, tokenizer, and a memory estimate for a context
 * length and a number of concurrent sequences (from the runtime's own state
 * and KV page sizes).
 */
import { Command } from 'commander';
import { ggmlTypeLayout, ggmlTypeName } from '../loaders/ggml-type';
import type { TensorEntry } from '../loaders/types';
import { addLoadOptions, formatBytes, intArg, openModel, writeOut } from './common';

function tensorBytes(t: TensorEntry): number {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const l = ggmlTypeLayout(t.dtype);
  return l ? (n / l.blockSize) * l.blockBytes : 0;
}

/** The `inspect` command. */
export function inspectCommand(): Command {
  const cmd = new Command('inspect')
    .description('show architecture, layers, tensors, parameter count and a memory estimate')
    .argument('<model>', 'a .gguf file or a Hugging Face model directory')
    .option('--ctx <n>', 'context length for the memory estimate', intArg(1), 4096)
    .option('--batch <n>', 'concurrent sequences for the memory estimate', intArg(1), 1)
    .option('--no-tensors', 'leave out the tensor table')
    .option('--json', 'print JSON');
  addLoadOptions(cmd);
  return cmd.action(async (modelPath: string, o: Record<string, unknown>) => {
    const model = await openModel(modelPath, o);
    try {
      const c = model.config;
      const ctx = o.ctx as number;
      const batch = o.batch as number;
      const m = model.memory();
      const params = model.files.tensors.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
      const kvPerSeq = m.kvPageTokens > 0 ? Math.ceil(ctx / m.kvPageTokens) * m.kvPageBytes : 0;
      const estimate = {
        ctx,
        batch,
        weights: m.weights,
        recurrentPerSequence: m.recurrentBytesPerSequence,
        kvPerSequence: kvPerSeq,
        total: m.weights + batch * (m.recurrentBytesPerSequence + kvPerSeq),
        kvCacheType: m.kvCacheType,
        memoryBudget: m.budget,
      };
      const pattern = c.layer_types.map((k) => (k === 'attention' ? 'A' : 'M')).join('');
      const tok = model.hasTokenizer ? model.tokenizer : null;
      const tensors = model.files.tensors.map((t) => ({ name: t.sourceName, dtype: ggmlTypeName(t.dtype), shape: [...t.shape], bytes: tensorBytes(t) }));
      const info = {
        path: model.files.files[0],
        format: model.files.format,
        architecture: c.architecture,
        device: model.device,
        parameters: params,
        layers: c.num_hidden_layers,
        layerPattern: pattern,
        config: c,
        tokenizer: tok
          ? { source: tok.source, tokens: tok.tokenCount, eos: tok.eosTokenId, bos: tok.bosTokenId, chatTemplate: tok.chatTemplate.source }
          : null,
        memoryEstimate: estimate,
        tensors: o.tensors === false ? undefined : tensors,
      };
      if (o.json) {
        await writeOut(JSON.stringify(info, null, 2) + '\n');
        return;
      }
      const lines: string[] = [];
      const kv = (k: string, v: unknown) => lines.push(`${k.padEnd(22)} ${String(v)}`);
      kv('path', info.path);
      kv('format', info.format);
      kv('architecture', c.architecture);
      const scaled = params >= 1e9 ? `${(params / 1e9).toFixed(3)} B` : params >= 1e6 ? `${(params / 1e6).toFixed(1)} M` : `${(params / 1e3).toFixed(1)} K`;
      kv('parameters', `${params.toLocaleString('en-US')} (${scaled})`);
      kv('layers', `${c.num_hidden_layers}: ${pattern} (M = Mamba-2, A = attention)`);
      kv('hidden / vocab', `${c.hidden_size} / ${c.vocab_size}`);
      kv('attention heads q/kv', `${c.num_attention_heads}/${c.num_key_value_heads} x ${c.head_dim}`);
      kv('mamba heads', `${c.mamba_n_heads} x ${c.mamba_d_head}, d_state ${c.mamba_d_state}, groups ${c.mamba_n_groups}`);
      kv('experts', c.num_local_experts ? `${c.num_local_experts} x ${c.intermediate_size}, top-${c.num_experts_per_tok}` : 'none (dense)');
      kv('shared MLP', c.shared_intermediate_size);
      kv('tokenizer', tok ? `${tok.source}, ${tok.tokenCount} tokens, eos ${tok.eosTokenId}, chat template: ${tok.chatTemplate.source}` : 'none');
      lines.push('');
      lines.push(`memory estimate (ctx ${ctx}, batch ${batch}):`);
      kv('  weights', formatBytes(estimate.weights));
      kv('  recurrent / seq', formatBytes(estimate.recurrentPerSequence));
      kv('  KV cache / seq', `${formatBytes(estimate.kvPerSequence)} (${estimate.kvCacheType})`);
      kv('  total', formatBytes(estimate.total));
      kv('  memory budget', `${formatBytes(estimate.memoryBudget)} (default: files + 75% of free memory)`);
      if (o.tensors !== false) {
        lines.push('');
        lines.push(`${'tensor'.padEnd(36)} ${'dtype'.padEnd(6)} ${'shape'.padEnd(22)} bytes`);
        for (const t of tensors) lines.push(`${t.name.padEnd(36)} ${t.dtype.padEnd(6)} ${`[${t.shape.join(', ')}]`.padEnd(22)} ${formatBytes(t.bytes)}`);
      }
      await writeOut(lines.join('\n') + '\n');
    } finally {
      await model.dispose();
    }
  });
}
