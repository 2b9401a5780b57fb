/** Loader order: prebuild, then local build, then one clear error (lib/native.ts). */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AddonLoadError } from '../lib/errors';
import { findPrebuild, loadAddon, type AddonSearch } from '../lib/native';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'hybridlm-loader-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

function touch(rel: string): string {
  const file = path.join(root, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, 'not really an addon');
  return file;
}

/** A search over `root` whose loader "loads" any existing file except those in `broken`. */
function search(broken: string[] = [], extra: Partial<AddonSearch> = {}): AddonSearch & { loaded: string[] } {
  const loaded: string[] = [];
  return {
    root,
    platform: 'linux',
    arch: 'x64',
    load: (file) => {
      loaded.push(file);
      if (!fs.existsSync(file)) throw new Error(`Cannot find module '${file}'`);
      if (broken.includes(file)) throw new Error(`${file}: version \`GLIBC_2.99' not found\nsecond line`);
      return { file };
    },
    loaded,
    ...extra,
  };
}

const LOCAL = 'build/Release/hybridlm.node';

test('a matching prebuild wins over a local build', () => {
  const prebuild = touch('prebuilds/linux-x64/hybridlm.glibc.node');
  touch(LOCAL);
  const s = search();
  const { addon, location } = loadAddon(s);
  expect(addon).toEqual({ file: prebuild });
  expect(location.origin).toBe('prebuild');
  expect(s.loaded).toEqual([prebuild]);
});

test('without a prebuild for the platform, the local build loads', () => {
  touch('prebuilds/darwin-arm64/hybridlm.node');
  touch('prebuilds/linux-x64/hybridlm.musl.node'); // another libc: not a match on glibc
  const local = touch(LOCAL);
  const { location } = loadAddon(search());
  expect(location.origin).toBe('local build');
  expect(location.path).toBe(local);
  expect(location.attempts[0]).toMatchObject({ origin: 'prebuild', error: 'no prebuild for this platform' });
});

test('a prebuild that fails to load falls back to the local build and keeps the reason', () => {
  const prebuild = touch('prebuilds/linux-x64/hybridlm.glibc.node');
  const local = touch(LOCAL);
  const { location } = loadAddon(search([prebuild]));
  expect(location).toMatchObject({ origin: 'local build', path: local });
  expect(location.attempts[0]).toEqual({ origin: 'prebuild', path: prebuild, error: `${prebuild}: version \`GLIBC_2.99' not found` });
});

test('with neither, one error names the platform, each place tried and how to build from source', () => {
  let err: unknown;
  try {
    loadAddon(search());
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(AddonLoadError);
  const e = err as AddonLoadError;
  expect(e.code).toBe('ERR_HYBRIDLM_ADDON');
  expect(e.message).toContain('linux-x64');
  expect(e.message).toContain(path.join(root, 'prebuilds', 'linux-x64'));
  expect(e.message).toContain(`${path.join(root, LOCAL)}: not found`);
  expect(e.message).toContain('npm run build:native');
  expect(e.message.includes('\n')).toBe(false); // the CLI prints the first line only
  expect(e.attempts.map((a) => a.origin)).toEqual(['prebuild', 'local build']);
});

test('HYBRIDLM_ADDON is the only place tried when set', () => {
  touch('prebuilds/linux-x64/hybridlm.glibc.node');
  touch(LOCAL);
  const side = touch('side/hybridlm.node');
  expect(loadAddon(search([], { override: side })).location).toMatchObject({ origin: 'HYBRIDLM_ADDON', path: side });
  expect(() => loadAddon(search([], { override: path.join(root, 'missing.node') }))).toThrow(/HYBRIDLM_ADDON/);
});

test('prebuild matching follows the tags prebuildify writes (napi, libc)', () => {
  expect(findPrebuild(root, 'linux', 'x64')).toBeNull();
  touch('prebuilds/linux-x64/hybridlm.musl.node');
  expect(findPrebuild(root, 'linux', 'x64')).toBeNull();
  const glibc = touch('prebuilds/linux-x64/hybridlm.glibc.node');
  expect(findPrebuild(root, 'linux', 'x64')).toBe(glibc);
  const arm = touch('prebuilds/linux-arm64/hybridlm.glibc.node');
  expect(findPrebuild(root, 'linux', 'arm64')).toBe(arm);
  touch('prebuilds/linux-x64/hybridlm.abi1.node'); // an ABI-specific build for another Node: ignored
  expect(findPrebuild(root, 'linux', 'x64')).toBe(glibc);
});
