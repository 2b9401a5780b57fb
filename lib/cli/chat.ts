/**
 * `hybridlm chat [MODEL]` (default: the embedded model): an interactive conversation on one ChatSession (each
 * turn prefills only its new tokens), streamed. Slash commands: /reset,
 * /save FILE, /load FILE, /help, /exit. Reads lines from stdin, so it also
 * runs scripted (piped input).
 */
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { Command } from 'commander';
import { ChatSession } from '../generate/chat-session';
import type { Model } from '../model';
import { EMBEDDED_MODEL_NAME } from '../embedded';
import { addLoadOptions, addSamplingOptions, generateOptionsOf, openModel, writeOut } from './common';
import { MODEL_HELP } from './model-arg';

const HELP = 'commands: /reset (forget the conversation), /save FILE, /load FILE, /help, /exit';

/** The `chat` command. */
export function chatCommand(): Command {
  const cmd = new Command('chat')
    .description('interactive chat (streamed; /reset, /save FILE, /load FILE, /exit)')
    .argument('[model]', MODEL_HELP)
    .option('--system <text>', 'system prompt');
  addSamplingOptions(addLoadOptions(cmd));
  return cmd.action(async (modelPath: string | undefined, o: Record<string, unknown>) => {
    const model = await openModel(modelPath ?? EMBEDDED_MODEL_NAME, o);
    const defaults = generateOptionsOf(o);
    let session = new ChatSession(model, { system: typeof o.system === 'string' ? o.system : undefined, defaults });
    const tty = process.stdin.isTTY === true;
    const rl = readline.createInterface({ input: process.stdin, output: tty ? process.stdout : undefined, terminal: tty });
    const ask = () => tty && rl.prompt();
    rl.setPrompt('> ');
    if (tty) process.stderr.write(`${HELP}\n`);
    ask();
    try {
      for await (const raw of rl) {
        const line = raw.trim();
        if (line === '') {
          ask();
          continue;
        }
        if (line.startsWith('/')) {
          const [command, ...rest] = line.split(/\s+/);
          const arg = rest.join(' ');
          if (command === '/exit' || command === '/quit') break;
          try {
            session = await slashCommand(model, session, command, arg, defaults);
          } catch (err) {
            // a bad /load or /save file is reported; the conversation goes on
            process.stderr.write(`hybridlm: ${(err as Error).message.split('\n')[0]}\n`);
          }
          ask();
          continue;
        }
        const stream = session.send(line);
        for await (const piece of stream) await writeOut(piece.text);
        await stream.result;
        await writeOut('\n');
        ask();
      }
    } finally {
      rl.close();
      session.dispose();
      await model.dispose();
    }
  });
}

async function slashCommand(
  model: Model,
  session: ChatSession,
  command: string,
  arg: string,
  defaults: ReturnType<typeof generateOptionsOf>,
): Promise<ChatSession> {
  switch (command) {
    case '/reset':
      session.reset();
      process.stderr.write('conversation reset\n');
      return session;
    case '/save': {
      if (!arg) throw new Error('/save needs a file name');
      fs.writeFileSync(arg, await session.save());
      process.stderr.write(`saved ${session.tokens.length} tokens to ${arg}\n`);
      return session;
    }
    case '/load': {
      if (!arg) throw new Error('/load needs a file name');
      const loaded = await ChatSession.load(model, fs.readFileSync(arg), defaults);
      session.dispose();
      process.stderr.write(`loaded ${loaded.tokens.length} tokens, ${loaded.messages.length} messages from ${arg}\n`);
      return loaded;
    }
    case '/help':
      process.stderr.write(`${HELP}\n`);
      return session;
    default:
      process.stderr.write(`unknown command ${command}; ${HELP}\n`);
      return session;
  }
}
