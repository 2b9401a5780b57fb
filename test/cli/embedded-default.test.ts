/**
 * The CLI with no model argument runs the embedded model: `run "The"` prints
 * torch's greedy continuation, `chat`, `serve` and `bench --model embedded` work, and
 * a leading argument that names a model (or looks like a path) is still the
 * model.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { http, waitFor } from '../helpers/serve';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'lib', 'cli', 'index.ts');
const REGISTER = path.join(__dirname, 'ts-register.js');
const golden = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'granite-h-nano', 'golden.json'), 'utf8'));

function cli(args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', REGISTER, CLI, ...args], { cwd: ROOT, env: { ...process.env, HYBRIDLM_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

test('run "The" --raw with no model prints the torch greedy continuation', async () => {
  const n = golden.greedy.tokens.length - golden.greedy.prompt_tokens;
  const r = await cli(['run', golden.greedy.prompt, '--raw', '-n', String(n), '-t', '1']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  // Generation stops at <|end_of_text|>; torch's greedy text goes on past it.
  const continuation = (golden.greedy.text as string).slice(golden.greedy.prompt.length).split('<|')[0];
  expect(r.stdout).toBe(`${continuation}\n`);
});

test('run with a prompt only, and chat with no model, answer with the embedded model', async () => {
  const run = await cli(['run', 'Once', 'upon', '-n', '8', '-t', '1']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(run.stdout.trim().length).toBeGreaterThan(0);
  const chat = await cli(['chat', '-n', '6', '-t', '1'], 'Hello\n/exit\n');
  expect(chat.stderr).toBe('');
  expect(chat.code).toBe(0);
  expect(chat.stdout.trim().length).toBeGreaterThan(0);
});

test("bench --model embedded and tokenize embedded use the shipped model", async () => {
  const bench = await cli(['bench', '--model', 'embedded', '--prefill', '16', '--decode', '4', '-t', '1', '--json']);
  expect(bench.stderr).toBe('');
  const report = JSON.parse(bench.stdout);
  expect(report.model).toBe('embedded');
  expect(report.layers).toBe(6);
  const tok = await cli(['tokenize', 'embedded', '--special', '<|start_of_role|><|end_of_role|>']);
  expect(tok.code).toBe(0);
  expect(JSON.parse(tok.stdout)).toHaveLength(2);
});

test('a leading argument shaped like a model path is the model, not the prompt', async () => {
  const r = await cli(['run', '/nonexistent/dir/model.gguf', 'hi']);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(/^hybridlm: .*no such file/);
});

test('serve with no model serves the embedded model on 127.0.0.1', async () => {
  const child = spawn(process.execPath, ['-r', REGISTER, CLI, 'serve', '--port', '0', '--threads', '1', '--device', 'cpu'], {
    cwd: ROOT,
    env: { ...process.env, HYBRIDLM_DEBUG: '' },
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    const line = await new Promise<string>((resolve) => {
      readline.createInterface({ input: child.stdout }).once('line', resolve);
      child.on('close', () => resolve(''));
    });
    expect(line).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+$/);
    const url = line.slice('listening on '.length);
    await waitFor(() => http(`${url}/health`), (r) => r.status === 200);
    const models = await http(`${url}/v1/models`);
    expect(models.json.data[0].id).toBe('granite-h-nano-f16');
    const r = await http(`${url}/v1/completions`, { body: { prompt: 'The', max_tokens: 4 } });
    expect(r.status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  } finally {
    child.kill('SIGKILL');
  }
});
