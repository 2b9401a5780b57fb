/** `hybridlm doctor`: the report's facts come from the loader, the addon and the CUDA check. */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { doctorReport, formatDoctor } from '../../lib/cli/doctor';
import { cudaReport } from '../../lib/device/select-device';
import { addonLocation, native } from '../../lib/native';

const ROOT = path.join(__dirname, '..', '..');

test('the report names the addon, the SIMD path, the CUDA package and what auto picks', async () => {
  const r = await doctorReport();
  const where = addonLocation();
  expect(r.addon).toMatchObject({ ok: true, origin: where.origin, path: where.path });
  expect(r.cpu?.simd).toBe(native().cpuInfo().simd);
  expect(r.hybridlm.version).toBe(require('../../package.json').version);
  const cuda = await cudaReport();
  expect(r.cuda).toMatchObject({ available: cuda.available, reason: cuda.reason, package: { name: '@hybridlm/cuda-linux-x64' } });
  expect(r.auto?.device).toBe(cuda.available ? 'cuda' : 'cpu');
  const text = formatDoctor(r);
  expect(text).toContain(`addon: ${where.origin} ${where.path}`);
  expect(text).toContain(`simd: ${r.cpu?.simd}`);
  expect(text).toContain(cuda.reason);
  expect(text).toContain(`device 'auto': ${r.auto?.device}`);
});

test('doctor --json prints the same report as JSON; a missing addon is reported with exit code 1', async () => {
  const run = (env: NodeJS.ProcessEnv) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['-r', path.join(__dirname, 'ts-register.js'), path.join(ROOT, 'lib/cli/index.ts'), 'doctor', '--json'], {
        cwd: ROOT,
        env: { ...process.env, HYBRIDLM_DEBUG: '', ...env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  const ok = await run({ HYBRIDLM_DEVICE: 'cpu' });
  expect(ok.code).toBe(0);
  const report = JSON.parse(ok.stdout);
  expect(report.addon.ok).toBe(true);
  expect(report.auto).toEqual({ device: 'cpu', reason: 'HYBRIDLM_DEVICE=cpu' });
  const missing = await run({ HYBRIDLM_ADDON: path.join(ROOT, 'no-such-addon.node') });
  expect(missing.code).toBe(1);
  const broken = JSON.parse(missing.stdout);
  expect(broken.addon.ok).toBe(false);
  expect(broken.addon.error).toContain('no-such-addon.node: not found');
  expect(missing.stderr).toContain('hybridlm: the native addon did not load');
});
