#!/usr/bin/env node
/**
 * The `hybridlm` command line: run, chat, inspect, tokenize, logits, bench, serve, doctor.
 * Failures print one line (`hybridlm: <what went wrong>`) on stderr and exit
 * with a non-zero code; stack traces only with HYBRIDLM_DEBUG=1.
 */
import { Command } from 'commander';
import { packageVersion } from '../package-info';
import { benchCommand } from './bench';
import { chatCommand } from './chat';
import { doctorCommand } from './doctor';
import { inspectCommand } from './inspect';
import { logitsCommand } from './logits';
import { runCommand } from './run';
import { serveCommand } from './serve';
import { tokenizeCommand } from './tokenize';

/** The program with every command. */
export function buildProgram(): Command {
  const program = new Command('hybridlm')
    .description('Run IBM Granite 4.0-H hybrid Mamba-2 / attention / MoE models')
    .version(packageVersion())
    .showHelpAfterError('(run with --help for usage)');
  for (const cmd of [
    runCommand(), chatCommand(), inspectCommand(), tokenizeCommand(), logitsCommand(), benchCommand(), serveCommand(),
    doctorCommand(),
  ]) {
    program.addCommand(cmd);
  }
  return program;
}

/** Runs the CLI on `argv` (process.argv form); resolves the exit code. */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    return 0;
  } catch (err) {
    const e = err as Error & { code?: string; exitCode?: number };
    if (process.env.HYBRIDLM_DEBUG === '1') process.stderr.write(`${e.stack ?? String(e)}\n`);
    const message = (e?.message ?? String(err)).split('\n')[0];
    process.stderr.write(`hybridlm: ${message}\n`);
    return typeof e.exitCode === 'number' && e.exitCode !== 0 ? e.exitCode : 1;
  }
}

if (require.main === module) {
  void main().then((code) => {
    process.exitCode = code;
  });
}
