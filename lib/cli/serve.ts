/**
 * `hybridlm serve [MODEL]` (default: the embedded model): the OpenAI-compatible server. It listens first (the
 * first stdout line states the address; /health answers 503 while the model
 * loads), then loads the model. SIGTERM / SIGINT drain in-flight requests and
 * exit 0.
 */
import { Command, InvalidArgumentError } from 'commander';
import { EMBEDDED_MODEL_NAME, resolveModelPath } from '../embedded';
import { loadModel, parseBytes, type LoadModelOptions } from '../load-model';
import { createServer } from '../server/server';
import { defaultModelNameOfPath } from '../server/model-name';
import { addLoadOptions, intArg, writeOut } from './common';
import { MODEL_HELP } from './model-arg';

/** commander parser: a byte size such as 16MB, 6GiB or 1048576 (loadModel's parser, a CLI error). */
function bytesArg(value: string): number {
  try {
    return parseBytes(value, 'a byte size');
  } catch {
    throw new InvalidArgumentError(`expected a byte size like 16MB, 6GiB or 1048576, got '${value}'`);
  }
}

/** The `serve` command. */
export function serveCommand(): Command {
  const cmd = new Command('serve')
    .description('serve the model over an OpenAI-compatible HTTP API')
    .argument('[model]', MODEL_HELP)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 picks a free one)', intArg(0), 8080)
    .option('--api-key <key>', 'require Authorization: Bearer <key> on every endpoint but /health (default: $HYBRIDLM_API_KEY)')
    .option('--model-name <name>', 'the model id clients use (default: the file name)')
    .option('--max-sequences <n>', 'sequences generating at once (n > 1 takes n)', intArg(1), 8)
    .option('--max-queue <n>', 'requests that may wait for a sequence before 429', intArg(0), 64)
    .option('--ctx <n>', 'context length: most prompt + completion tokens per sequence', intArg(2), 8192)
    .option('--max-body <bytes>', 'largest request body (413 past it)', bytesArg, 16 * 2 ** 20)
    .option('--request-timeout <seconds>', 'cancel a request after this long', intArg(1), 600)
    .option('--drain-timeout <seconds>', 'on SIGTERM, how long in-flight requests may finish', intArg(0), 30)
    .option('--log', 'log every request (JSON lines on stdout)');
  addLoadOptions(cmd);
  // As text: loadModel parses and validates it.
  cmd.option('--memory-budget <bytes>', 'most bytes the model may hold (e.g. 6GB)');
  return cmd.action(async (modelArg: string | undefined, o: Record<string, unknown>) => {
    const modelPath = resolveModelPath(modelArg ?? EMBEDDED_MODEL_NAME);
    const apiKey = (o.apiKey as string | undefined) ?? (process.env.HYBRIDLM_API_KEY || undefined);
    const device = o.device as LoadModelOptions['device'];
    if (device !== 'auto' && device !== 'cpu' && device !== 'cuda') {
      throw new InvalidArgumentError(`--device must be 'auto', 'cpu' or 'cuda', got '${String(device)}'`);
    }
    // Budget and KV type go to the engine as given; loadModel validates them.
    const load: LoadModelOptions = {
      device,
      threads: o.threads as number | undefined,
      maxSequences: o.maxSequences as number,
      kvCacheType: o.kvCacheType as LoadModelOptions['kvCacheType'],
      memoryBudget: o.memoryBudget as string | undefined,
    };
    const loading = loadModel(modelPath, load);
    const server = createServer(loading, {
      modelName: (o.modelName as string | undefined) ?? defaultModelNameOfPath(modelPath),
      apiKey,
      maxSequences: o.maxSequences as number,
      maxQueue: o.maxQueue as number,
      contextLength: o.ctx as number,
      maxBodyBytes: o.maxBody as number,
      requestTimeoutMs: (o.requestTimeout as number) * 1000,
      drainTimeoutMs: (o.drainTimeout as number) * 1000,
      logger: o.log === true,
    });
    const stop = new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    const url = await server.listen({ host: o.host as string, port: o.port as number });
    await writeOut(`listening on ${url}\n`);
    const outcome = await Promise.race([server.ready.then(() => null), stop]).catch(async (err: Error) => {
      await server.drain();
      throw err;
    });
    if (outcome === null) {
      const model = await loading;
      process.stderr.write(`model ${server.options.modelName} ready on ${model.device} (${model.deviceReason})\n`);
    }
    const signal = outcome ?? (await stop);
    process.stderr.write(`${signal}: draining\n`);
    await server.drain();
    await (await loading.catch(() => null))?.dispose();
  });
}
