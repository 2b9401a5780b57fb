/**
 * The real probe child end to end, with the CPU posing as the GPU: a wrapper
 * addon reports a device and serves 'cuda' loads on the CPU, so the child's
 * model load, prefill + decode steps and comparison all run here.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { probeCuda } from '../../lib/device/cuda-probe';
import { addonLocation } from '../../lib/native';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hybridlm-probe-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A module that re-exports the addon, claims a GPU, and runs 'cuda' models on the CPU with `cudaSpec` applied. */
function posingAddon(name: string, cudaSpec: object): string {
  const file = path.join(tmp, `${name}.js`);
  fs.writeFileSync(
    file,
    `const real = require(${JSON.stringify(addonLocation().path)});
module.exports = {
  ...real,
  cudaUseLibrary: () => true,
  cudaStatus: () => ({ available: true, reason: 'CPU posing as a GPU', library: '', devices: 1, driverVersion: 0, runtimeVersion: 0, gpus: [] }),
  loadModel: (spec) => real.loadModel(spec.device === 'cuda' ? { ...spec, device: 'cpu', ...${JSON.stringify(cudaSpec)} } : spec),
};`,
  );
  return file;
}

test('the self-test loads the tiny model twice, runs prefill and decode, and passes on equal logits', async () => {
  const r = await probeCuda({ addonPath: posingAddon('same', {}), libraryPath: '/unused' });
  expect(r.problem).toBeUndefined();
  expect(r.status?.reason).toBe('CPU posing as a GPU');
  // 9 prefill rows + 1 decode row of the 512-token vocabulary.
  expect(r.selfTest).toMatchObject({ values: 10 * 512, maxAbsDiff: 0, passed: true });
  expect(r.selfTest?.maxAbsRef).toBeGreaterThan(0);
});

test('a "GPU" whose numbers differ (weights quantized to Q8_0) fails the self-test', async () => {
  const r = await probeCuda({ addonPath: posingAddon('q8', { quantize: 'q8_0' }), libraryPath: '/unused' });
  expect(r.selfTest?.passed).toBe(false);
  expect(r.selfTest?.maxAbsDiff).toBeGreaterThan(r.selfTest?.tolerance ?? Infinity);
  expect(r.problem).toContain('the CUDA self-test failed on CPU posing as a GPU');
});

test('an addon that fails inside the child is reported, not thrown', async () => {
  const r = await probeCuda({ addonPath: path.join(tmp, 'missing.node'), libraryPath: '/unused' });
  expect(r.problem).toMatch(/^the CUDA probe failed: Cannot find module/);
});
