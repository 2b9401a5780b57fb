/**
 * `hybridlm tokenize MODEL [TEXT...]`: token ids of a text (or, with
 * --decode, the text of ids), as JSON.
 */
import { Command, InvalidArgumentError } from 'commander';
import { openModelFiles } from '../loaders';
import { loadTokenizer } from '../tokenizer/load-tokenizer';
import { promptText, writeOut } from './common';

/** The `tokenize` command. */
export function tokenizeCommand(): Command {
  return new Command('tokenize')
    .description('print the token ids of a text (argument or stdin) as JSON')
    .argument('<model>', 'a .gguf file or a Hugging Face model directory')
    .argument('[text...]', "the text; '-' or nothing reads stdin")
    .option('--special', 'recognise special-token strings such as <|end_of_text|>')
    .option('--pieces', 'print each id with its text, one per line')
    .option('--decode', 'the arguments are token ids: print their text')
    .action(async (modelPath: string, words: string[], o: { special?: boolean; pieces?: boolean; decode?: boolean }) => {
      const text = await promptText(words);
      // Only the tokenizer is needed: the weights are never mapped.
      const tok = await loadTokenizer(await openModelFiles(modelPath));
      if (o.decode) {
        const ids = text.split(/[\s,[\]]+/).filter(Boolean).map((s) => {
          const n = Number(s);
          if (!Number.isInteger(n)) throw new InvalidArgumentError(`--decode expects token ids, got '${s}'`);
          return n;
        });
        await writeOut(JSON.stringify(tok.decode(ids)) + '\n');
        return;
      }
      const ids = tok.encode(text, { special: o.special === true });
      if (o.pieces) {
        await writeOut(ids.map((id) => `${id}\t${JSON.stringify(tok.decode([id]))}`).join('\n') + '\n');
      } else {
        await writeOut(JSON.stringify(ids) + '\n');
      }
    });
}
