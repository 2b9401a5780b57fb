/**
 * `hybridlm logits MODEL --tokens 1,2,3`: the logits of a token list (fed
 * from an empty state), for comparing against another runtime. JSON by
 * default, or raw little-endian float32 rows with --format f32.
 */
import * as fs from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { addLoadOptions, openModel, writeOut } from './common';

function parseTokens(value: string): number[] {
  const ids = value.split(/[\s,[\]]+/).filter(Boolean).map(Number);
  if (ids.length === 0 || ids.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new InvalidArgumentError(`expected comma-separated token ids, got '${value}'`);
  }
  return ids;
}

/** The `logits` command. */
export function logitsCommand(): Command {
  const cmd = new Command('logits')
    .description('print the logits of a token list (JSON, or raw float32 with --format f32)')
    .argument('<model>', 'a .gguf file or a Hugging Face model directory')
    .option('--tokens <ids>', 'token ids, comma- or space-separated', parseTokens)
    .option('--text <text>', 'encode this text instead (special-token strings recognised)')
    .option('--all', 'every position (default: the last one only)')
    .option('--format <format>', "'json' or 'f32'", 'json')
    .option('-o, --out <file>', 'write to a file instead of stdout');
  addLoadOptions(cmd); // (--kv-cache-type defaults to f32 here: exact logits)
  return cmd.action(async (modelPath: string, o: Record<string, unknown>) => {
    if (o.format !== 'json' && o.format !== 'f32') throw new InvalidArgumentError(`--format must be 'json' or 'f32', got '${String(o.format)}'`);
    if ((o.tokens === undefined) === (o.text === undefined)) throw new InvalidArgumentError('give exactly one of --tokens and --text');
    // Exact logits by default: f32 KV pages unless --kv-cache-type says otherwise.
    const model = await openModel(modelPath, { ...o, kvCacheType: (o.kvCacheType as 'f16' | 'f32' | 'q8_0' | undefined) ?? 'f32' });
    try {
      const tokens = (o.tokens as number[] | undefined) ?? model.tokenizer.encode(o.text as string, { special: true });
      const V = model.config.vocab_size;
      const all = await model.logits(tokens);
      const first = o.all ? 0 : tokens.length - 1;
      const rows = all.subarray(first * V);
      if (o.format === 'f32') {
        const bytes = Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength);
        if (typeof o.out === 'string') fs.writeFileSync(o.out, bytes);
        else await new Promise<void>((resolve, reject) => process.stdout.write(bytes, (e) => (e ? reject(e) : resolve())));
        return;
      }
      const out = {
        vocab: V,
        tokens,
        firstPosition: first,
        logits: Array.from({ length: tokens.length - first }, (_, r) => Array.from(rows.subarray(r * V, (r + 1) * V))),
      };
      const text = JSON.stringify(out) + '\n';
      if (typeof o.out === 'string') fs.writeFileSync(o.out, text);
      else await writeOut(text);
    } finally {
      await model.dispose();
    }
  });
}
