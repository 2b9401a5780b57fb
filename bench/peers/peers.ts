/**
 * The benchmark peers' folder: node-llama-cpp is ESM-only and ~700 MB, so it
 * is never a dependency of this package; the benches install it once into
 * its own folder ($HYBRIDLM_BENCH_PEERS, default ~/.cache/hybridlm-bench/peers)
 * and drive it in child processes (bench/peers/*.mjs).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** The node-llama-cpp release the benches compare against. */
export const LLAMA_VERSION = '3.21.1';

/** Where the peers are installed. */
export function peersDir(): string {
  return process.env.HYBRIDLM_BENCH_PEERS ?? path.join(os.homedir(), '.cache', 'hybridlm-bench', 'peers');
}

/** Installs node-llama-cpp into the peers folder once; returns false when that is impossible. */
export function ensurePeers(): boolean {
  const dir = peersDir();
  if (fs.existsSync(path.join(dir, 'node_modules', 'node-llama-cpp', 'package.json'))) return true;
  fs.mkdirSync(dir, { recursive: true });
  if (!fs.existsSync(path.join(dir, 'package.json')))
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'hybridlm-bench-peers', private: true, type: 'module' }));
  console.error(`installing node-llama-cpp@${LLAMA_VERSION} into ${dir} ...`);
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', `node-llama-cpp@${LLAMA_VERSION}`], { cwd: dir, stdio: 'inherit' });
  return r.status === 0;
}
