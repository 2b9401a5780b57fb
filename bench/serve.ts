/**
 * Serving load on loopback: N concurrent clients (default 1, 8, 32, 64) hold
 * multi-turn conversations that share one system prompt, streamed through
 * /v1/completions (the conversation rendered in Granite's chat format, so
 * every server sees the same text). Reports requests/s, p50/p99
 * time-to-first-token and inter-token latency, the prefix-cache hit rate
 * (usage.prompt_tokens_details.cached_tokens / prompt tokens) and the server
 * process's RSS. Each server runs in its own process; llama.cpp's
 * llama-server runs on the same GGUF and load when a build is found
 * ($HYBRIDLM_LLAMA_SERVER, or ~/.cache/hybridlm-bench/llama-server/src/build/bin,
 * built from the llama.cpp sources node-llama-cpp bundles). Bounded: every
 * level stops after --level-seconds; --minutes M is a soak run (8 clients by
 * default) that reports RSS over time and errors.
 *   npm run bench:serve -- [--shape h-350m] [--dtype q8_0] [--layers N] [--clients 1,8,32,64]
 *     [--turns 3] [--max-tokens 16] [--level-seconds 90] [--threads 2] [--memory-budget 2GB] [--minutes M] [--no-peer]
 * The memory budget bounds the prefix cache (a quarter of what the budget
 * leaves beside the weights), so RSS should flatten once the cache is full.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { MODEL_SHAPES } from '../lib/synthetic/shapes';
import { type SyntheticDType, writeSyntheticGguf } from '../lib/synthetic/synthetic-model';
import { renderGraniteChat } from '../lib/tokenizer/granite-chat-template';
import type { ChatMessage } from '../lib/tokenizer/types';

interface Args {
  shape: string;
  dtype: string;
  layers: number | undefined;
  clients: number[];
  turns: number;
  maxTokens: number;
  levelSeconds: number;
  threads: number;
  minutes: number | null;
  peer: boolean;
  memoryBudget: string;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const minutes = get('minutes');
  return {
    shape: get('shape') ?? 'h-350m',
    dtype: get('dtype') ?? 'q8_0',
    layers: get('layers') ? Number(get('layers')) : undefined,
    clients: (get('clients') ?? (minutes ? '8' : '1,8,32,64')).split(',').map(Number),
    turns: Number(get('turns') ?? 3),
    maxTokens: Number(get('max-tokens') ?? 16),
    levelSeconds: Number(get('level-seconds') ?? 90),
    threads: Number(get('threads') ?? 2),
    minutes: minutes ? Number(minutes) : null,
    peer: !argv.includes('--no-peer'),
    memoryBudget: get('memory-budget') ?? '2GB',
  };
}

// ---- servers

interface Server {
  name: string;
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

function rssOf(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function stopper(proc: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
      setTimeout(() => proc.kill('SIGKILL'), 30_000).unref();
    });
}

async function waitHealthy(url: string, proc: ChildProcess, seconds = 300): Promise<void> {
  for (let i = 0; i < seconds * 10; i++) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}`);
    try {
      if ((await fetch(`${url}/health`)).status === 200) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not become healthy`);
}

async function startHybridlm(gguf: string, a: Args, slots: number): Promise<Server> {
  const cli = path.join(__dirname, '..', 'lib', 'cli', 'index.js');
  const args = [cli, 'serve', gguf, '--port', '0', '--threads', String(a.threads), '--max-sequences', String(slots), '--max-queue', '4096', '--ctx', '4096', '--device', 'cpu', '--memory-budget', a.memoryBudget];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: proc.stdout! }).once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`hybridlm serve exited with ${code}`)));
  });
  const url = line.replace(/^listening on /, '');
  await waitHealthy(url, proc);
  return { name: 'hybridlm', url, proc, stop: stopper(proc) };
}

function llamaServerPath(): string | null {
  const candidates = [
    process.env.HYBRIDLM_LLAMA_SERVER,
    path.join(os.homedir(), '.cache', 'hybridlm-bench', 'llama-server', 'src', 'build', 'bin', 'llama-server'),
  ];
  return candidates.find((p) => p && fs.existsSync(p)) ?? null;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function startLlamaServer(bin: string, gguf: string, a: Args, slots: number): Promise<Server> {
  const port = await freePort();
  const args = ['-m', gguf, '--host', '127.0.0.1', '--port', String(port), '-t', String(a.threads), '-np', String(slots), '-c', String(slots * 4096), '--no-webui'];
  const proc = spawn(bin, args, { stdio: ['ignore', 'ignore', 'ignore'] });
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(url, proc);
  return { name: 'llama.cpp llama-server', url, proc, stop: stopper(proc) };
}

// ---- load

const SYSTEM = 'You are a careful assistant for a logistics company. Answer in short sentences, cite the order number, and never invent data. '.repeat(2);

interface Sample {
  ttft: number[];
  itl: number[];
  requests: number;
  promptTokens: number;
  cachedTokens: number;
  errors: number;
}

/** One streamed completion; records TTFT and inter-token gaps. Returns the generated text. */
async function streamOnce(url: string, prompt: string, a: Args, s: Sample, signal: AbortSignal): Promise<string> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt, max_tokens: a.maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true }, ignore_eos: true }),
    signal,
  });
  if (res.status !== 200 || !res.body) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  let text = '';
  let last = 0;
  let buf = '';
  const decoder = new TextDecoder();
  for await (const part of res.body) {
    buf += decoder.decode(part as Uint8Array, { stream: true });
    let at: number;
    while ((at = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, at);
      buf = buf.slice(at + 2);
      const data = event.replace(/^data: /, '');
      if (data === '[DONE]') continue;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message);
      const piece: string = chunk.choices?.[0]?.text ?? '';
      if (piece) {
        const now = performance.now();
        if (last === 0) s.ttft.push(now - t0);
        else s.itl.push(now - last);
        last = now;
        text += piece;
      }
      if (chunk.usage) {
        s.promptTokens += chunk.usage.prompt_tokens;
        s.cachedTokens += chunk.usage.prompt_tokens_details?.cached_tokens ?? 0;
      }
    }
  }
  s.requests++;
  return text;
}

/** One client: a conversation of `turns` turns (restarted while `keepGoing`). */
async function client(url: string, id: number, a: Args, s: Sample, signal: AbortSignal, keepGoing: () => boolean): Promise<void> {
  let round = 0;
  do {
    const messages: ChatMessage[] = [{ role: 'system', content: SYSTEM }];
    for (let t = 0; t < a.turns && !signal.aborted; t++) {
      messages.push({ role: 'user', content: `Client ${id}, round ${round}, question ${t}: where is order ${1000 + id * 7 + t}?` });
      try {
        const reply = await streamOnce(url, renderGraniteChat(messages, {}) + '<|start_of_role|>assistant<|end_of_role|>', a, s, signal);
        messages.push({ role: 'assistant', content: reply });
      } catch (err) {
        if (signal.aborted) return;
        s.errors++;
        if (s.errors <= 3) console.error(`client ${id}: ${(err as Error).message}`);
        break;
      }
    }
    round++;
  } while (keepGoing() && !signal.aborted);
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

interface LevelResult {
  server: string;
  clients: number;
  seconds: number;
  sample: Sample;
  peakRss: number;
  capped: boolean;
}

async function runLevel(srv: Server, clients: number, a: Args): Promise<LevelResult> {
  const s: Sample = { ttft: [], itl: [], requests: 0, promptTokens: 0, cachedTokens: 0, errors: 0 };
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), a.levelSeconds * 1000);
  let peakRss = rssOf(srv.proc.pid);
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssOf(srv.proc.pid))), 250);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, (_, i) => client(srv.url, i, a, s, stop.signal, () => false)));
  const seconds = (performance.now() - t0) / 1000;
  clearTimeout(timer);
  clearInterval(sampler);
  return { server: srv.name, clients, seconds, sample: s, peakRss, capped: stop.signal.aborted };
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const ms = (x: number) => (Number.isNaN(x) ? 'n/a' : `${x.toFixed(0)} ms`);

function printLevels(rows: LevelResult[]): void {
  console.log('| server | clients | requests/s | TTFT p50 | TTFT p99 | ITL p50 | ITL p99 | prefix-cache hit | errors | peak RSS |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const s = r.sample;
    const hit = s.promptTokens > 0 ? `${((100 * s.cachedTokens) / s.promptTokens).toFixed(0)} %` : 'n/a';
    console.log(
      `| ${r.server} | ${r.clients} | ${(s.requests / r.seconds).toFixed(2)}${r.capped ? ' (capped)' : ''} | ${ms(pct(s.ttft, 50))} | ${ms(pct(s.ttft, 99))} | ${ms(pct(s.itl, 50))} | ${ms(pct(s.itl, 99))} | ${hit} | ${s.errors} | ${mib(r.peakRss)} |`,
    );
  }
}

/** The server's prefix-cache bytes from /metrics (null for servers without them). */
async function prefixCacheBytes(url: string): Promise<number | null> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const m = /^hybridlm_memory_bytes\{kind="prefix_cache"\} (\S+)$/m.exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

async function soak(srv: Server, a: Args): Promise<void> {
  const clients = a.clients[0];
  const s: Sample = { ttft: [], itl: [], requests: 0, promptTokens: 0, cachedTokens: 0, errors: 0 };
  const stop = new AbortController();
  const endAt = Date.now() + a.minutes! * 60_000;
  const timer = setTimeout(() => stop.abort(), a.minutes! * 60_000 + 60_000);
  const timeline: Array<{ t: number; rss: number; requests: number; cache: number | null }> = [];
  const t0 = Date.now();
  const sample = async () => timeline.push({ t: (Date.now() - t0) / 1000, rss: rssOf(srv.proc.pid), requests: s.requests, cache: await prefixCacheBytes(srv.url) });
  const sampler = setInterval(() => void sample(), 5000);
  await Promise.all(Array.from({ length: clients }, (_, i) => client(srv.url, i, a, s, stop.signal, () => Date.now() < endAt)));
  clearInterval(sampler);
  clearTimeout(timer);
  await sample();
  const warm = timeline.find((p) => p.t >= Math.max(60, (a.minutes! * 60) / 5)) ?? timeline[0];
  const end = timeline[timeline.length - 1];
  console.log(`\nsoak: ${srv.name}, ${clients} clients, ${a.minutes} min, ${s.requests} requests, ${s.errors} errors`);
  console.log('| t (s) | RSS | prefix cache | requests |');
  console.log('|---|---|---|---|');
  const every = Math.max(1, Math.floor(timeline.length / 12));
  timeline.filter((_, i) => i % every === 0 || i === timeline.length - 1).forEach((p) => console.log(`| ${p.t.toFixed(0)} | ${mib(p.rss)} | ${p.cache === null ? 'n/a' : mib(p.cache)} | ${p.requests} |`));
  const growth = end.rss - warm.rss;
  console.log(`RSS after warm-up (t=${warm.t.toFixed(0)} s) ${mib(warm.rss)} -> end ${mib(end.rss)}: ${growth >= 0 ? '+' : ''}${mib(growth)} (${((100 * growth) / warm.rss).toFixed(1)} %)`);
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const shape = MODEL_SHAPES[a.shape];
  if (!shape) throw new Error(`unknown shape ${a.shape}; one of ${Object.keys(MODEL_SHAPES).join(', ')}`);
  const gguf = path.join(os.tmpdir(), `hybridlm-bench-serve-${a.shape}-${a.dtype}-${a.layers ?? 'all'}.gguf`);
  if (!fs.existsSync(gguf)) writeSyntheticGguf(gguf, shape, { dtype: a.dtype as SyntheticDType, withTokenizer: true, layers: a.layers });
  const slots = Math.max(...a.clients);
  const peer = a.peer ? llamaServerPath() : null;
  console.log(
    `bench:serve ${new Date().toISOString()} ${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, ${a.threads} threads; ` +
      `${a.shape} ${a.dtype}${a.layers ? ` (${a.layers} layers)` : ''}, ${a.turns} turns x ${a.maxTokens} tokens, greedy, ignore_eos; ` +
      `peer: ${peer ?? 'none (no llama-server build found)'}`,
  );
  const starters: Array<() => Promise<Server>> = [() => startHybridlm(gguf, a, slots)];
  if (peer) starters.push(() => startLlamaServer(peer, gguf, a, slots));
  const rows: LevelResult[] = [];
  for (const start of starters) {
    const srv = await start();
    try {
      await runLevel(srv, 1, { ...a, turns: 1, maxTokens: 4 }); // warm-up: page in the weights
      if (a.minutes !== null) await soak(srv, a);
      else for (const c of a.clients) rows.push(await runLevel(srv, c, a));
    } finally {
      await srv.stop();
    }
  }
  if (rows.length) printLevels(rows);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
