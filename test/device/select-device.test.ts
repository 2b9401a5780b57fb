/**
 * Device choice: CUDA only after a probe in a child process passes its
 * self-test; every failure (mismatched package, crash, hang, wrong numbers)
 * becomes CPU with the reason.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkCuda, pickDevice, type CudaCheckOptions } from '../../lib/device/select-device';
import { DeviceError } from '../../lib/errors';

let tmp: string;
let fakeLibrary: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hybridlm-select-'));
  fakeLibrary = path.join(tmp, 'libhybridlm_cuda.so');
  fs.writeFileSync(fakeLibrary, 'not an ELF file');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A check that probes `fakeLibrary` (or searches `search`) and never opens anything in this process. */
function check(options: CudaCheckOptions = {}) {
  return () => checkCuda({ search: { override: fakeLibrary }, open: false, ...options });
}

/** A probe child that prints `report` as its JSON line. */
function reporting(report: object): string {
  return `process.stdout.write(${JSON.stringify(JSON.stringify(report))} + '\\n')`;
}
const gpu = { available: true, reason: 'Test GPU (sm_90)', library: '', devices: 1, driverVersion: 13000, runtimeVersion: 13000, gpus: [] };

test('a CUDA package of another version means CPU, with the reason', async () => {
  const root = path.join(tmp, 'app', 'node_modules', 'hybridlm');
  const pkg = path.join(tmp, 'app', 'node_modules', '@hybridlm', 'cuda-linux-x64');
  fs.mkdirSync(pkg, { recursive: true });
  fs.mkdirSync(root, { recursive: true });
  fs.writeFileSync(path.join(pkg, 'package.json'), '{"name":"@hybridlm/cuda-linux-x64","version":"0.0.9"}');
  fs.writeFileSync(path.join(pkg, 'libhybridlm_cuda.so'), '');
  const report = () =>
    checkCuda({ search: { root, version: '0.1.0', addonDir: tmp + '/no-addon-here', platform: 'linux', arch: 'x64', override: undefined } });
  const picked = await pickDevice('auto', report);
  expect(picked.device).toBe('cpu');
  expect(picked.reason).toContain('@hybridlm/cuda-linux-x64@0.0.9');
  expect(picked.reason).toContain('does not match hybridlm@0.1.0');
  await expect(pickDevice('cuda', report)).rejects.toThrow(DeviceError);
  await expect(pickDevice('cuda', report)).rejects.toThrow(/does not match hybridlm@0\.1\.0/);
});

test('a library that does not load is reported by the real probe child, and the caller is unharmed', async () => {
  const r = await check()();
  expect(r.available).toBe(false);
  expect(r.probe?.status?.available).toBe(false);
  expect(r.reason).toContain(fakeLibrary);
  expect(r.reason).toMatch(/could not open the CUDA library|no usable CUDA device/);
});

test('a probe that crashes means CPU, naming the signal', async () => {
  const picked = await pickDevice('auto', check({ probeScript: "process.kill(process.pid, 'SIGSEGV')" }));
  expect(picked).toEqual({ device: 'cpu', reason: expect.stringContaining('the CUDA probe process crashed (SIGSEGV)') });
});

test('a probe that hangs is killed and means CPU', async () => {
  const r = await check({ probeScript: 'setInterval(() => {}, 1000)', probeTimeoutMs: 300 })();
  expect(r.available).toBe(false);
  expect(r.reason).toContain('did not finish within 0.3 s');
});

test('CUDA numbers that disagree with the CPU fail the self-test', async () => {
  const bad = { status: gpu, selfTest: { values: 10, maxAbsDiff: 0.5, maxAbsRef: 3, finite: true, ms: 5 } };
  const r = await check({ probeScript: reporting(bad) })();
  expect(r.available).toBe(false);
  expect(r.probe?.selfTest).toMatchObject({ passed: false, tolerance: 3e-3 });
  expect(r.reason).toContain('the CUDA self-test failed on Test GPU (sm_90)');
  const nan = { status: gpu, selfTest: { values: 10, maxAbsDiff: 0, maxAbsRef: 3, finite: false, ms: 5 } };
  expect((await check({ probeScript: reporting(nan) })()).reason).toContain('not finite');
});

test('a device that passes the self-test is chosen by auto', async () => {
  const good = { status: gpu, selfTest: { values: 10, maxAbsDiff: 1e-5, maxAbsRef: 3, finite: true, ms: 5 } };
  const picked = await pickDevice('auto', check({ probeScript: reporting(good) }));
  expect(picked).toEqual({ device: 'cuda', reason: 'CUDA device found: Test GPU (sm_90)' });
});

test("HYBRIDLM_DEVICE=cpu makes 'auto' pick the CPU without probing", async () => {
  const before = process.env.HYBRIDLM_DEVICE;
  process.env.HYBRIDLM_DEVICE = 'cpu';
  try {
    const never = () => Promise.reject(new Error('probed'));
    expect(await pickDevice('auto', never)).toEqual({ device: 'cpu', reason: 'HYBRIDLM_DEVICE=cpu' });
  } finally {
    if (before === undefined) delete process.env.HYBRIDLM_DEVICE;
    else process.env.HYBRIDLM_DEVICE = before;
  }
});
