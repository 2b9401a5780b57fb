/** Finding libhybridlm_cuda.so: HYBRIDLM_CUDA_LIB, the version-checked package, a local build. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { findCudaLibrary, type CudaLibrarySearch } from '../../lib/device/cuda-library';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hybridlm-cudalib-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(rel: string, text = 'x'): string {
  const file = path.join(tmp, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

let apps = 0;
/** A fresh installed layout: tmp/appN/node_modules/{hybridlm, @hybridlm/cuda-linux-x64@version}. */
function install(cudaVersion: string | null, withLibrary = true): CudaLibrarySearch {
  const app = `app${++apps}`;
  const root = path.dirname(write(`${app}/node_modules/hybridlm/package.json`, '{"name":"hybridlm","version":"0.1.0"}'));
  if (cudaVersion) {
    const pkg = `${app}/node_modules/@hybridlm/cuda-linux-x64`;
    write(`${pkg}/package.json`, JSON.stringify({ name: '@hybridlm/cuda-linux-x64', version: cudaVersion }));
    if (withLibrary) write(`${pkg}/libhybridlm_cuda.so`);
  }
  fs.mkdirSync(path.join(root, 'build', 'Release'), { recursive: true });
  return { root, version: '0.1.0', addonDir: path.join(root, 'build', 'Release'), platform: 'linux', arch: 'x64' };
}

test('the package of the same version is found by resolution from hybridlm', () => {
  const r = findCudaLibrary(install('0.1.0'));
  expect(r.library).toEqual({ origin: 'package', path: path.join(tmp, `app${apps}/node_modules/@hybridlm/cuda-linux-x64/libhybridlm_cuda.so`) });
  expect(r.package).toMatchObject({ name: '@hybridlm/cuda-linux-x64', version: '0.1.0' });
  expect(r.package.problem).toBeUndefined();
});

test('a package of another version is not used, and the reason names both versions', () => {
  const r = findCudaLibrary(install('0.0.9'));
  expect(r.library).toBeNull();
  expect(r.package.problem).toContain('@hybridlm/cuda-linux-x64@0.0.9');
  expect(r.package.problem).toContain('does not match hybridlm@0.1.0');
  expect(r.skipped[0]).toBe(r.package.problem);
  expect(r.skipped[1]).toContain('no local build');
});

test('a mismatched package falls through to a local build beside the addon', () => {
  const s = install('0.0.9');
  const local = write(path.relative(tmp, path.join(s.addonDir, 'libhybridlm_cuda.so')));
  const r = findCudaLibrary(s);
  expect(r.library).toEqual({ origin: 'local build', path: local });
  expect(r.skipped).toEqual([r.package.problem]);
});

test('a package without the library, a missing package and another platform each say so', () => {
  expect(findCudaLibrary(install('0.1.0', false)).package.problem).toContain('has no libhybridlm_cuda.so');
  expect(findCudaLibrary(install(null)).package.problem).toContain('is not installed');
  const mac = findCudaLibrary({ ...install('0.1.0'), platform: 'darwin', arch: 'arm64' });
  expect(mac.library).toBeNull();
  expect(mac.package.problem).toBe('no CUDA package is published for darwin-arm64');
});

test('HYBRIDLM_CUDA_LIB is used alone when set', () => {
  const s = install('0.1.0');
  const side = write('side/libhybridlm_cuda.so');
  expect(findCudaLibrary({ ...s, override: side }).library).toEqual({ origin: 'HYBRIDLM_CUDA_LIB', path: side });
  const missing = findCudaLibrary({ ...s, override: path.join(tmp, 'nope.so') });
  expect(missing.library).toBeNull();
  expect(missing.skipped).toEqual([`HYBRIDLM_CUDA_LIB=${path.join(tmp, 'nope.so')}: not found`]);
});
