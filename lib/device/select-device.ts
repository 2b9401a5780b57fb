/**
 * Decides whether CUDA can be used: find the library (cuda-library.ts), probe
 * it in a child process with a CPU-vs-CUDA self-test (cuda-probe.ts), and
 * only then open it in this process. The answer is computed once per process.
 * Without any CUDA library nothing is spawned. HYBRIDLM_DEVICE=cpu makes
 * 'auto' pick the CPU without looking; HYBRIDLM_CUDA_PROBE=0 opens the library
 * without the child-process probe (where processes cannot be spawned, or a
 * test injects faults it must see in this process).
 */
import * as path from 'path';
import { ArgumentError, DeviceError } from '../errors';
import type { DeviceName } from '../model';
import { addonLocation, native } from '../native';
import type { NativeCudaStatus } from '../native-types';
import { packageRoot, packageVersion } from '../package-info';
import { findCudaLibrary, type CudaLibraryResult, type CudaLibrarySearch } from './cuda-library';
import { probeCuda, type CudaProbeResult } from './cuda-probe';

/** Everything known about CUDA on this machine. */
export interface CudaReport {
  available: boolean;
  /** The device ("NVIDIA H100 (sm_90)") when available, else the exact reason it is not. */
  reason: string;
  search: CudaLibraryResult;
  /** The child-process probe (absent when no library was found or CUDA was turned off). */
  probe?: CudaProbeResult;
  /** The status of the library as opened in this process (after a passing probe). */
  status?: NativeCudaStatus;
}

/** Inputs of {@link checkCuda} (tests pass their own). */
export interface CudaCheckOptions {
  search?: Partial<CudaLibrarySearch>;
  /** Replaces the probe child's source (tests simulate crashes). */
  probeScript?: string;
  /** Kill the probe child after this long (default: cuda-probe.ts). */
  probeTimeoutMs?: number;
  /** Open the library in this process after a passing probe (default true). */
  open?: boolean;
}

let cachedReport: Promise<CudaReport> | undefined;

/** Finds and probes CUDA without caching. */
export async function checkCuda(options: CudaCheckOptions = {}): Promise<CudaReport> {
  const addon = addonLocation();
  const search = findCudaLibrary({
    root: packageRoot(),
    version: packageVersion(),
    addonDir: path.dirname(addon.path),
    platform: process.platform,
    arch: process.arch,
    override: process.env.HYBRIDLM_CUDA_LIB || undefined,
    ...options.search,
  });
  if (!search.library) {
    return { available: false, reason: `no CUDA library found: ${search.skipped.join('; ')}`, search };
  }
  const where = `${search.library.origin} ${search.library.path}`;
  if (process.env.HYBRIDLM_CUDA_PROBE === '0') return openHere(search, where, undefined, 'not probed: HYBRIDLM_CUDA_PROBE=0');
  const probe = await probeCuda({
    addonPath: addon.path,
    libraryPath: search.library.path,
    script: options.probeScript,
    timeoutMs: options.probeTimeoutMs,
  });
  if (probe.problem) return { available: false, reason: `${probe.problem} (${where})`, search, probe };
  if (options.open === false) return { available: true, reason: probe.status?.reason ?? 'CUDA', search, probe };
  return openHere(search, where, probe, 'self-test passed');
}

/** Opens the found library in this process (after the probe, or instead of it). */
function openHere(search: CudaLibraryResult, where: string, probe: CudaProbeResult | undefined, how: string): CudaReport {
  // False when something in this process already called cudaStatus(): then
  // the library it opened (HYBRIDLM_CUDA_LIB or beside the addon) is in use.
  const chosen = native().cudaUseLibrary((search.library as { path: string }).path);
  const status = native().cudaStatus();
  if (!status.available) return { available: false, reason: `${status.reason} (${where})`, search, probe, status };
  const opened = chosen ? where : `${status.library}, opened earlier in this process`;
  return { available: true, reason: `${status.reason}, ${how} (${opened})`, search, probe, status };
}

/** {@link checkCuda} once per process. */
export function cudaReport(): Promise<CudaReport> {
  cachedReport ??= checkCuda();
  return cachedReport;
}

/**
 * Resolves a requested device to the one used, and says why. `report` gives
 * the CUDA facts (default: {@link cudaReport}; tests pass their own).
 */
export async function pickDevice(
  requested: 'auto' | 'cpu' | 'cuda' | undefined,
  report: () => Promise<CudaReport> = cudaReport,
): Promise<{ device: DeviceName; reason: string }> {
  switch (requested ?? 'auto') {
    case 'cpu':
      return { device: 'cpu', reason: 'requested' };
    case 'cuda': {
      const cuda = await report();
      if (!cuda.available) throw new DeviceError(`device 'cuda' is not available: ${cuda.reason}. Use device: 'cpu' or 'auto'.`);
      return { device: 'cuda', reason: `requested; ${cuda.reason}` };
    }
    case 'auto': {
      if (process.env.HYBRIDLM_DEVICE === 'cpu') return { device: 'cpu', reason: 'HYBRIDLM_DEVICE=cpu' };
      const cuda = await report();
      return cuda.available
        ? { device: 'cuda', reason: `CUDA device found: ${cuda.reason}` }
        : { device: 'cpu', reason: `CUDA is not available (${cuda.reason}); running on CPU` };
    }
    default:
      throw new ArgumentError(`Expected device to be 'auto', 'cpu' or 'cuda', got ${String(requested)}`);
  }
}
