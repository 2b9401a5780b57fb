/**
 * The `hybridlm` CLI through child processes (the TypeScript sources run via
 * a tiny transpile-on-load hook, so no build is needed): inspect, tokenize,
 * logits, run --raw --json and streamed, chat with /save /reset /load, bench
 * of a tiny synthetic shape, and one-line errors with a non-zero exit code.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES, fixtureDir, fixtureGguf, makeTmpDir, removeTmpDir } from '../helpers/fixtures';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'lib', 'cli', 'index.ts');
const REGISTER = path.join(__dirname, 'ts-register.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

function cli(args: string[], stdin = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', REGISTER, CLI, ...args], { cwd: ROOT, env: { ...process.env, HYBRIDLM_DEBUG: '' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes });
    });
    child.stdin.end(stdin);
  });
}

const golden = (name: (typeof FIXTURES)[number]) => JSON.parse(fs.readFileSync(path.join(fixtureDir(name), 'golden.json'), 'utf8'));

let tmp: string;
beforeAll(() => {
  tmp = makeTmpDir('cli');
});
afterAll(() => removeTmpDir(tmp));

test('package.json bin points at the compiled CLI entry', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  expect(pkg.bin.hybridlm).toBe('dist/cli/index.js');
  expect(fs.readFileSync(CLI, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
});

test('inspect shows architecture, layer pattern, tensors and a memory estimate', async () => {
  const r = await cli(['inspect', fixtureGguf('granite-h-tiny-dense'), '--ctx', '1024', '--batch', '2']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('granitehybrid');
  expect(r.stdout).toContain('MMAMM');
  expect(r.stdout).toMatch(/token_embd\.weight\s+F32\s+\[512, 64\]/);
  expect(r.stdout).toContain('memory estimate (ctx 1024, batch 2)');
  const j = await cli(['inspect', fixtureDir('granite-h-tiny-moe'), '--json', '--no-tensors']);
  expect(j.code).toBe(0);
  const info = JSON.parse(j.stdout);
  expect(info.layerPattern).toBe('MAMM');
  expect(info.format).toBe('safetensors');
  expect(info.parameters).toBeGreaterThan(100000);
  expect(info.tensors).toBeUndefined();
  expect(info.memoryEstimate.total).toBeGreaterThan(info.memoryEstimate.weights);
  expect(info.tokenizer.chatTemplate).toBe('model');
});

test('tokenize gives the golden ids (special tokens on request) and decodes', async () => {
  const g = golden('granite-h-tiny-dense').tokenizer_case;
  const r = await cli(['tokenize', fixtureDir('granite-h-tiny-dense'), '--special', g.text]);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual(g.ids);
  const plain = await cli(['tokenize', fixtureGguf('granite-h-tiny-dense'), '-'], '<|end_of_text|>');
  expect(JSON.parse(plain.stdout)).not.toContain(496);
  const back = await cli(['tokenize', fixtureGguf('granite-h-tiny-dense'), '--decode', g.ids.join(',')]);
  expect(JSON.parse(back.stdout)).toBe(g.text);
});

test('logits prints the golden logits as JSON and raw f32', async () => {
  const g = golden('granite-h-tiny-moe');
  const c = g.cases.find((x: { kind: string }) => x.kind === 'full');
  const bin = fs.readFileSync(path.join(fixtureDir('granite-h-tiny-moe'), 'golden.bin'));
  const V = g.vocab_size;
  const want = new Float32Array(bin.buffer, bin.byteOffset + c.offset_floats * 4, c.n_rows * V);
  const r = await cli(['logits', fixtureGguf('granite-h-tiny-moe'), '--tokens', c.tokens.join(','), '--threads', '1']);
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(out.vocab).toBe(V);
  expect(out.logits.length).toBe(1);
  const last = want.subarray((c.n_rows - 1) * V);
  expect(Math.max(...out.logits[0].map((v: number, i: number) => Math.abs(v - last[i])))).toBeLessThan(1e-4);
  const file = path.join(tmp, 'logits.f32');
  const raw = await cli(['logits', fixtureGguf('granite-h-tiny-moe'), '--tokens', c.tokens.join(' '), '--all', '--format', 'f32', '-o', file]);
  expect(raw.code).toBe(0);
  const got = new Float32Array(fs.readFileSync(file).buffer.slice(0));
  expect(got.length).toBe(c.n_rows * V);
  let maxDiff = 0;
  for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
  expect(maxDiff).toBeLessThan(1e-4);
});

test('run --raw --json prints the complete() result; streamed run prints the same text', async () => {
  const args = ['run', fixtureGguf('granite-h-tiny-dense'), '--raw', '-n', '6', '--ignore-eos', '--temperature', '0.8', '--seed', '3'];
  const j = await cli([...args, '--json', '<|start_of_role|>user<|end_of_role|>Hi']);
  expect(j.code).toBe(0);
  const result = JSON.parse(j.stdout);
  expect(result.tokens.length).toBe(6);
  expect(result.finishReason).toBe('length');
  // special-token text is recognised in a raw prompt: 2 control tokens + 'user' (3 tokens) + 'Hi' (2)
  expect(result.usage.promptTokens).toBe(7);
  expect(result.timings.decodeTokensPerSecond).toBeGreaterThan(0);
  const s = await cli([...args, '--stats', '<|start_of_role|>user<|end_of_role|>Hi']);
  expect(s.code).toBe(0);
  expect(s.stdout).toBe(result.text + '\n');
  expect(s.stderr).toMatch(/7 prompt tokens .* 6 generated .* finish: length/);
});

test('chat runs scripted: replies stream, /save /reset /load work', async () => {
  const file = path.join(tmp, 'session.bin');
  const r = await cli(['chat', fixtureGguf('granite-h-tiny-dense'), '-n', '4', '--system', 'Be brief.'], `Hello\n/save ${file}\n/reset\n/load ${file}\n/load ${file}.missing\nAgain\n/exit\n`);
  expect(r.stderr).toMatch(/hybridlm: .*session\.bin\.missing/);
  expect(r.stderr).toContain('saved');
  expect(r.stderr).toContain('conversation reset');
  expect(r.stderr).toMatch(/loaded \d+ tokens, 3 messages/);
  expect(r.code).toBe(0);
  expect(r.stdout.split('\n').length).toBeGreaterThanOrEqual(3);
  expect(fs.statSync(file).size).toBeGreaterThan(12);
});

test('bench builds a synthetic model of a tiny shape and reports speed and memory', async () => {
  const r = await cli(['bench', '--shape', 'test-tiny', '--layers', '3', '--prefill', '32', '--decode', '8', '--threads', '1', '--json']);
  expect(r.code).toBe(0);
  const b = JSON.parse(r.stdout);
  expect(b.layers).toBe(3);
  expect(b.prefill.tokens).toBe(32);
  expect(b.prefill.tokensPerSecond).toBeGreaterThan(0);
  expect(b.decode.tokensPerSecond).toBeGreaterThan(0);
  expect(b.memory.weights).toBeGreaterThan(0);
  expect(b.memory.recurrentBytesPerSequence).toBeGreaterThan(0);
  expect(b.peakRssBytes).toBeGreaterThan(0);
  const table = await cli(['bench', '--shape', 'test-tiny', '--dtype', 'q8_0', '--prefill', '16', '--decode', '4']);
  expect(table.code).toBe(0);
  expect(table.stdout).toMatch(/prefill 16 .* tok\/s/);
  expect(table.stdout).toMatch(/peak RSS/);
});

test('a wrong path, a non-model file and bad options give one-line errors and a non-zero exit', async () => {
  const missing = await cli(['run', '/nonexistent/model.gguf', 'hi']);
  expect(missing.code).not.toBe(0);
  expect(missing.stderr.trim().split('\n')).toEqual(['hybridlm: /nonexistent/model.gguf: no such file or directory']);
  const notModel = await cli(['inspect', path.join(ROOT, 'package.json')]);
  expect(notModel.code).not.toBe(0);
  expect(notModel.stderr.trim().split('\n')).toHaveLength(1);
  expect(notModel.stderr).toMatch(/^hybridlm: .*package\.json: not a model/);
  const shape = await cli(['bench', '--shape', 'h-huge']);
  expect(shape.code).not.toBe(0);
  expect(shape.stderr).toMatch(/unknown --shape 'h-huge'/);
  const opt = await cli(['run', fixtureGguf('granite-h-tiny-dense'), '--max-tokens', 'lots', 'hi']);
  expect(opt.code).not.toBe(0);
  expect(opt.stderr).toMatch(/max-tokens/);
});
