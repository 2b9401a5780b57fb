/**
 * `hybridlm run [MODEL] [PROMPT...]`: prompt in, streamed text out. MODEL may
 * be left out (the embedded model). The prompt goes through the model's chat
 * template unless --raw; --json prints the complete() result object instead
 * of streaming.
 */
import { Command } from 'commander';
import { addLoadOptions, addSamplingOptions, generateOptionsOf, openModel, promptText, writeOut } from './common';
import type { ChatMessage } from '../tokenizer/types';
import { MODEL_HELP, modelAndRest } from './model-arg';

/** The `run` command. */
export function runCommand(): Command {
  const cmd = new Command('run')
    .description('generate text from a prompt (argument or stdin), streamed to stdout')
    .argument('[model]', MODEL_HELP)
    .argument('[prompt...]', "the prompt; '-' or nothing reads stdin")
    .option('-m, --model <model>', `the model, when the first argument is part of the prompt: ${MODEL_HELP}`)
    .option('--raw', 'use the prompt as is (no chat template; special-token text is recognised)')
    .option('--system <text>', 'system prompt (chat mode)')
    .option('--json', 'print the whole result as JSON instead of streaming')
    .option('--stats', 'print token counts and speeds to stderr');
  addSamplingOptions(addLoadOptions(cmd));
  return cmd.action(async (first: string | undefined, more: string[], o: Record<string, unknown>) => {
    const { model: modelPath, rest } = modelAndRest(first === undefined ? more : [first, ...more], o.model);
    const prompt = await promptText(rest);
    const model = await openModel(modelPath, o);
    try {
      const options = generateOptionsOf(o);
      const input: string | ChatMessage[] = o.raw
        ? prompt
        : [...(typeof o.system === 'string' ? [{ role: 'system', content: o.system }] : []), { role: 'user', content: prompt }];
      if (o.json) {
        const result = typeof input === 'string' ? await model.complete(input, options) : await model.chat(input, options);
        await writeOut(JSON.stringify(result, null, 2) + '\n');
        return;
      }
      const stream = model.generate(input, options);
      for await (const piece of stream) await writeOut(piece.text);
      const result = await stream.result;
      await writeOut('\n');
      if (o.stats) {
        const t = result.timings;
        process.stderr.write(
          `${result.usage.promptTokens} prompt tokens (${t.prefillTokensPerSecond.toFixed(1)} tok/s), ` +
            `${result.usage.completionTokens} generated (${t.decodeTokensPerSecond.toFixed(1)} tok/s), finish: ${result.finishReason}\n`,
        );
      }
    } finally {
      await model.dispose();
    }
  });
}
