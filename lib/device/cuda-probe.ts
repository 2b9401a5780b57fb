/**
 * Probes a CUDA library in a child process (a faulting driver must not take
 * the caller's process down): the child opens the library, lists the GPUs and
 * runs a tiny random-weight model on CPU and CUDA; the logits must agree.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openModelFiles } from '../loaders';
import { nativeModelSpec } from '../loaders/model-dims';
import type { NativeCudaStatus } from '../native-types';
import { TEST_TINY_SHAPE } from '../synthetic/shapes';
import { writeSyntheticGguf } from '../synthetic/synthetic-model';
import { CUDA_PROBE_SCRIPT } from './cuda-probe-script';

/** The self-test's CPU-vs-CUDA comparison. */
export interface CudaSelfTest {
  /** Logit values compared (prefill rows + one decode row). */
  values: number;
  maxAbsDiff: number;
  maxAbsRef: number;
  /** Allowed max |diff|: {@link SELF_TEST_TOLERANCE} x max(1, maxAbsRef). */
  tolerance: number;
  passed: boolean;
  ms: number;
}

/** What the probe child reported. */
export interface CudaProbeResult {
  /** The library's status as the child saw it (absent when the child failed before). */
  status?: NativeCudaStatus;
  selfTest?: CudaSelfTest;
  /** Why CUDA cannot be used; absent when the device passed the self-test. */
  problem?: string;
}

/** Relative tolerance of the self-test (f32 weights; CUDA and CPU sum in different orders). */
export const SELF_TEST_TOLERANCE = 1e-3;

/** Options of {@link probeCuda}. */
export interface CudaProbeOptions {
  addonPath: string;
  libraryPath: string;
  /** Kill the child after this long (default 60 s: first CUDA use can JIT PTX). */
  timeoutMs?: number;
  /** Child source (tests replace it to simulate a crash). */
  script?: string;
}

/** Writes the self-test model and its load spec to `dir`; returns the spec file. */
async function writeSelfTestSpec(dir: string): Promise<string> {
  const gguf = path.join(dir, 'self-test.gguf');
  writeSyntheticGguf(gguf, TEST_TINY_SHAPE, { dtype: 'f32', seed: 7 });
  const model = nativeModelSpec(await openModelFiles(gguf));
  const tokens = Array.from({ length: 9 }, (_, i) => (i * 37 + 5) % TEST_TINY_SHAPE.vocab);
  const spec = path.join(dir, 'self-test.json');
  // Non-finite numbers (a dt limit of Infinity, say) travel as { $number: 'Infinity' }.
  const finiteSafe = (_key: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { $number: String(v) } : v);
  fs.writeFileSync(spec, JSON.stringify({ model, tokens, next: 11 }, finiteSafe));
  return spec;
}

function lastJsonLine(text: string): Record<string, unknown> | null {
  const lines = text.trim().split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const v = JSON.parse(lines[i]);
      if (v && typeof v === 'object') return v as Record<string, unknown>;
    } catch {
      // not the report line
    }
  }
  return null;
}

/** Runs the probe child; never throws (every failure becomes `problem`). */
export async function probeCuda(o: CudaProbeOptions): Promise<CudaProbeResult> {
  const timeoutMs = o.timeoutMs ?? 60_000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hybridlm-cuda-probe-'));
  try {
    const spec = await writeSelfTestSpec(dir);
    const env = {
      ...process.env,
      HYBRIDLM_PROBE_ADDON: o.addonPath,
      HYBRIDLM_PROBE_LIBRARY: o.libraryPath,
      HYBRIDLM_PROBE_SPEC: spec,
    };
    const child = spawn(process.execPath, ['-e', o.script ?? CUDA_PROBE_SCRIPT], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on('error', () => resolve({ code: -1, signal: null }));
      child.on('close', (c, s) => resolve({ code: c, signal: s }));
    });
    clearTimeout(timer);
    const report = lastJsonLine(stdout);
    const detail = stderr.trim().split('\n').pop() ?? '';
    if (timedOut) return { problem: `the CUDA probe did not finish within ${timeoutMs / 1000} s (driver hung?)` };
    if (signal) return { problem: `the CUDA probe process crashed (${signal})${detail ? `: ${detail}` : ''}` };
    if (!report) return { problem: `the CUDA probe process exited with code ${String(code)}${detail ? `: ${detail}` : ''}` };
    if (typeof report.error === 'string') return { problem: `the CUDA probe failed: ${report.error}` };
    const status = report.status as NativeCudaStatus;
    if (!status.available) return { status, problem: status.reason };
    const t = report.selfTest as Omit<CudaSelfTest, 'tolerance' | 'passed'> & { finite: boolean };
    const tolerance = SELF_TEST_TOLERANCE * Math.max(1, t.maxAbsRef);
    const passed = t.finite && t.maxAbsDiff <= tolerance;
    const selfTest = { values: t.values, maxAbsDiff: t.maxAbsDiff, maxAbsRef: t.maxAbsRef, tolerance, passed, ms: t.ms };
    if (!passed) {
      return {
        status,
        selfTest,
        problem: `the CUDA self-test failed on ${status.reason}: max |cuda - cpu| = ${t.finite ? t.maxAbsDiff.toExponential(2) : 'not finite'} > ${tolerance.toExponential(2)}`,
      };
    }
    return { status, selfTest };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
