/**
 * `hybridlm doctor [--json]`: what this install runs on and why. Version,
 * where the addon came from (prebuild / local build) and what was tried,
 * the SIMD path and CPU features, the CUDA package and library, the probe
 * (driver, GPUs, CPU-vs-CUDA self-test), and the device 'auto' picks with the
 * exact reason for any fallback. Exits 1 only when the addon cannot load.
 */
import * as os from 'node:os';
import { Command } from 'commander';
import { cudaReport, pickDevice, type CudaReport } from '../device/select-device';
import { HybridLMError } from '../errors';
import { addonLocation, native, type AddonLocation } from '../native';
import type { NativeCpuInfo } from '../native-types';
import { packageRoot, packageVersion } from '../package-info';
import { formatBytes, writeOut } from './common';

/** Everything `doctor` reports (the --json shape). */
export interface DoctorReport {
  hybridlm: { version: string; root: string };
  node: { version: string; napi: string; platform: string; arch: string; glibc: string | null };
  addon: { ok: boolean; origin?: string; path?: string; attempts: AddonLocation['attempts']; error?: string };
  cpu?: { model: string; simd: string; simdReason: string; features: string[]; threads: number };
  cuda?: {
    package: CudaReport['search']['package'];
    library: CudaReport['search']['library'];
    skipped: string[];
    available: boolean;
    reason: string;
    driverVersion?: string;
    gpus?: { name: string; computeCapability: string; totalMemory: number }[];
    selfTest?: NonNullable<CudaReport['probe']>['selfTest'];
  };
  /** What loadModel(path) with device 'auto' would run on, and why. */
  auto?: { device: string; reason: string };
}

const FEATURES: readonly (keyof NativeCpuInfo)[] = ['avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512vnni', 'avx512bf16', 'neon', 'dotprod'];

function glibcVersion(): string | null {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ?? null;
}

function driverString(v: number): string {
  return v > 0 ? `CUDA ${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}` : 'none found';
}

/** Gathers the report (never throws: an addon that cannot load is part of the report). */
export async function doctorReport(): Promise<DoctorReport> {
  const report: DoctorReport = {
    hybridlm: { version: packageVersion(), root: packageRoot() },
    node: {
      version: process.versions.node,
      napi: process.versions.napi ?? '?',
      platform: process.platform,
      arch: process.arch,
      glibc: glibcVersion(),
    },
    addon: { ok: false, attempts: [] },
  };
  try {
    const where = addonLocation();
    report.addon = { ok: true, origin: where.origin, path: where.path, attempts: where.attempts };
  } catch (err) {
    const e = err as HybridLMError & { attempts?: AddonLocation['attempts'] };
    report.addon = { ok: false, attempts: e.attempts ?? [], error: e.message };
    return report;
  }
  const info = native().cpuInfo();
  const cap = process.env.HYBRIDLM_CPU;
  report.cpu = {
    model: os.cpus()[0]?.model ?? 'unknown',
    simd: info.simd,
    simdReason: cap && cap !== 'auto' ? `HYBRIDLM_CPU=${cap} caps the path` : 'the best path this CPU supports',
    features: FEATURES.filter((f) => info[f] === true),
    threads: info.threads,
  };
  const cuda = await cudaReport();
  const status = cuda.status ?? cuda.probe?.status;
  report.cuda = {
    package: cuda.search.package,
    library: cuda.search.library,
    skipped: cuda.search.skipped,
    available: cuda.available,
    reason: cuda.reason,
    ...(status ? { driverVersion: driverString(status.driverVersion), gpus: status.gpus } : {}),
    ...(cuda.probe?.selfTest ? { selfTest: cuda.probe.selfTest } : {}),
  };
  report.auto = await pickDevice('auto');
  return report;
}

/** The human-readable form. */
export function formatDoctor(r: DoctorReport): string {
  const lines = [
    `hybridlm ${r.hybridlm.version} (${r.hybridlm.root})`,
    `node ${r.node.version}, N-API ${r.node.napi}, ${r.node.platform}-${r.node.arch}${r.node.glibc ? `, glibc ${r.node.glibc}` : ''}`,
  ];
  if (!r.addon.ok) {
    lines.push(`addon: NOT LOADED: ${r.addon.error ?? 'unknown error'}`);
    return lines.join('\n') + '\n';
  }
  lines.push(`addon: ${r.addon.origin} ${r.addon.path}`);
  for (const a of r.addon.attempts) if (a.error) lines.push(`  skipped ${a.origin} ${a.path}: ${a.error}`);
  if (r.cpu) {
    lines.push(`cpu: ${r.cpu.model}, ${r.cpu.threads} threads`);
    lines.push(`  simd: ${r.cpu.simd} (${r.cpu.simdReason})`);
    lines.push(`  features: ${r.cpu.features.join(' ') || 'none'}`);
  }
  if (r.cuda) {
    const p = r.cuda.package;
    lines.push(`cuda package: ${p.problem ?? `${p.name}@${p.version} (${p.dir})`}`);
    lines.push(`cuda library: ${r.cuda.library ? `${r.cuda.library.origin} ${r.cuda.library.path}` : 'none'}`);
    if (r.cuda.driverVersion) lines.push(`  driver: ${r.cuda.driverVersion}`);
    for (const g of r.cuda.gpus ?? []) lines.push(`  gpu: ${g.name}, compute ${g.computeCapability}, ${formatBytes(g.totalMemory)}`);
    const t = r.cuda.selfTest;
    if (t) {
      lines.push(
        `  self-test: ${t.passed ? 'passed' : 'FAILED'}: max |cuda - cpu| ${t.maxAbsDiff.toExponential(2)} ` +
          `(tolerance ${t.tolerance.toExponential(2)}, ${t.values} logits, ${t.ms} ms)`,
      );
    }
    lines.push(`  ${r.cuda.available ? 'usable' : 'not usable'}: ${r.cuda.reason}`);
  }
  if (r.auto) lines.push(`device 'auto': ${r.auto.device} (${r.auto.reason})`);
  return lines.join('\n') + '\n';
}

/** The `doctor` command. */
export function doctorCommand(): Command {
  return new Command('doctor')
    .description('show what this install runs on: addon, SIMD path, CUDA package, GPUs, self-test, fallback reasons')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const report = await doctorReport();
      await writeOut(o.json ? JSON.stringify(report, null, 2) + '\n' : formatDoctor(report));
      if (!report.addon.ok) throw new HybridLMError('the native addon did not load (see above)', 'ERR_HYBRIDLM_ADDON');
    });
}
