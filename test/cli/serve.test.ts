/**
 * `hybridlm serve` as a process: the first stdout line states the address,
 * /health turns 200 once loaded, --api-key guards the API, and SIGTERM drains
 * and exits 0. Bad flags fail with one line and a non-zero code.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { fixtureGguf } from '../helpers/fixtures';
import { http, waitFor } from '../helpers/serve';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'lib', 'cli', 'index.ts');
const REGISTER = path.join(__dirname, 'ts-register.js');

function serve(args: string[]) {
  const child = spawn(process.execPath, ['-r', REGISTER, CLI, 'serve', ...args], { cwd: ROOT, env: { ...process.env, HYBRIDLM_DEBUG: '' } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const firstLine = new Promise<string>((resolve) => {
    const rl = readline.createInterface({ input: child.stdout });
    rl.once('line', resolve);
    child.on('close', () => resolve(''));
  });
  return { child, firstLine, exited, stderr: () => stderr };
}

test('serve: address on the first line, health, API key, SIGTERM drains and exits 0', async () => {
  const p = serve([fixtureGguf('granite-h-tiny-dense'), '--port', '0', '--threads', '1', '--api-key', 'k', '--max-sequences', '2', '--device', 'cpu']);
  try {
    const line = await p.firstLine;
    expect(line).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+$/);
    const url = line.slice('listening on '.length);
    const health = await waitFor(() => http(`${url}/health`), (r) => r.status === 200);
    expect(health.json).toEqual({ status: 'ok' });
    expect((await http(`${url}/v1/models`)).status).toBe(401);
    const models = await http(`${url}/v1/models`, { headers: { authorization: 'Bearer k' } });
    expect(models.json.data[0].id).toBe('granite-h-tiny-dense');
    const r = await http(`${url}/v1/completions`, { body: { prompt: 'Hi', max_tokens: 3 }, headers: { authorization: 'Bearer k' } });
    expect(r.status).toBe(200);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(p.stderr()).toContain('SIGTERM: draining');
  } finally {
    p.child.kill('SIGKILL');
  }
});

test('serve: a missing model file exits non-zero with one line', async () => {
  const p = serve(['/nonexistent/model.gguf', '--port', '0']);
  expect(await p.exited).not.toBe(0);
  expect(p.stderr()).toMatch(/^hybridlm: .*nonexistent/m);
});

test('serve: a bad byte size is rejected', async () => {
  const p = serve([fixtureGguf('granite-h-tiny-dense'), '--max-body', 'lots']);
  expect(await p.exited).not.toBe(0);
  expect(p.stderr()).toContain('byte size');
});
