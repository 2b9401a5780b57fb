/**
 * The only module that loads the addon. Order: $HYBRIDLM_ADDON (a test or a
 * side build) alone when set; otherwise the prebuild for this platform
 * (prebuilds/<platform>-<arch>/, tags matched by node-gyp-build), then a local
 * build (build/Release/hybridlm.node from `npm run build:native`), then one
 * {@link AddonLoadError} naming the platform, each place tried and how to
 * build from source. docs/ci.md says how prebuilds are made.
 */
import * as fs from 'fs';
import * as path from 'path';
import { AddonLoadError } from './errors';
import type { NativeAddon } from './native-types';
import { packageRoot } from './package-info';

/** Where the loaded addon came from. */
export type AddonOrigin = 'HYBRIDLM_ADDON' | 'prebuild' | 'local build';

/** One place the loader looked, and what happened there. */
export interface AddonAttempt {
  origin: AddonOrigin;
  /** The file (or, for a prebuild folder without a match, the folder) looked at. */
  path: string;
  /** Why it was not used; absent for the one that loaded. */
  error?: string;
}

/** The addon that loaded and what was tried before it. */
export interface AddonLocation {
  origin: AddonOrigin;
  path: string;
  attempts: readonly AddonAttempt[];
}

/** Platform facts the search depends on (tests pass their own). */
export interface AddonSearch {
  /** hybridlm's package root. */
  root: string;
  platform: string;
  arch: string;
  /** Loads one candidate file; throws when it cannot (default: require). */
  load: (file: string) => unknown;
  /** $HYBRIDLM_ADDON. */
  override?: string;
}

interface NodeGypBuildTags {
  file: string;
}
interface NodeGypBuildTuple {
  name: string;
}
/** The tag-matching helpers node-gyp-build exports (same rules prebuildify names files by). */
interface NodeGypBuildHelpers {
  parseTuple(name: string): NodeGypBuildTuple | undefined;
  matchTuple(platform: string, arch: string): (t: NodeGypBuildTuple | undefined) => boolean;
  compareTuples(a: NodeGypBuildTuple, b: NodeGypBuildTuple): number;
  parseTags(file: string): NodeGypBuildTags | undefined;
  matchTags(runtime: string, abi: string): (t: NodeGypBuildTags | undefined) => boolean;
  compareTags(runtime: string): (a: NodeGypBuildTags, b: NodeGypBuildTags) => number;
}

let cached: NativeAddon | undefined;
let location: AddonLocation | undefined;

function readdir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** The best-matching prebuild file for the platform, or null. */
export function findPrebuild(root: string, platform: string, arch: string): string | null {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const gyp = require('node-gyp-build') as NodeGypBuildHelpers;
  const tuples = readdir(path.join(root, 'prebuilds'))
    .map((n) => gyp.parseTuple(n))
    .filter((t): t is NodeGypBuildTuple => gyp.matchTuple(platform, arch)(t));
  const tuple = tuples.sort(gyp.compareTuples)[0];
  if (!tuple) return null;
  const dir = path.join(root, 'prebuilds', tuple.name);
  const files = readdir(dir)
    .map((f) => gyp.parseTags(f))
    .filter((t): t is NodeGypBuildTags => gyp.matchTags('node', process.versions.modules)(t));
  const best = files.sort(gyp.compareTags('node'))[0];
  return best ? path.join(dir, best.file) : null;
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0];
}

/**
 * Finds and loads the addon in the documented order. Returns the module and
 * where it came from; throws {@link AddonLoadError} listing every attempt.
 */
export function loadAddon(search: AddonSearch): { addon: unknown; location: AddonLocation } {
  const attempts: AddonAttempt[] = [];
  const tryLoad = (origin: AddonOrigin, file: string) => {
    try {
      const addon = search.load(file);
      return { addon, location: { origin, path: file, attempts: [...attempts, { origin, path: file }] } };
    } catch (err) {
      attempts.push({ origin, path: file, error: fs.existsSync(file) ? firstLine(err) : 'not found' });
      return null;
    }
  };
  if (search.override) {
    const hit = tryLoad('HYBRIDLM_ADDON', path.resolve(search.override));
    if (hit) return hit;
  } else {
    const prebuild = findPrebuild(search.root, search.platform, search.arch);
    const hit = prebuild
      ? tryLoad('prebuild', prebuild)
      : (attempts.push({
          origin: 'prebuild',
          path: path.join(search.root, 'prebuilds', `${search.platform}-${search.arch}`),
          error: 'no prebuild for this platform',
        }),
        null);
    const local = hit ?? tryLoad('local build', path.join(search.root, 'build', 'Release', 'hybridlm.node'));
    if (local) return local;
  }
  const tried = attempts.map((a) => `${a.origin} ${a.path}: ${a.error}`).join('; ');
  throw new AddonLoadError(
    `no usable hybridlm native addon for ${search.platform}-${search.arch} (Node ${process.versions.node}, ` +
      `N-API ${process.versions.napi}). Tried: ${tried}. ` +
      (search.override
        ? 'Unset HYBRIDLM_ADDON or point it at a built hybridlm.node.'
        : `Build it from source: \`cd ${search.root} && npm run build:native\` (needs cmake or node-gyp with Python, ` +
          'and a C++17 compiler).'),
    attempts,
  );
}

/** The loaded addon (loaded on first use). */
export function native(): NativeAddon {
  if (cached) return cached;
  const hit = loadAddon({
    root: packageRoot(),
    platform: process.platform,
    arch: process.arch,
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    load: (file) => require(file),
    override: process.env.HYBRIDLM_ADDON || undefined,
  });
  location = hit.location;
  cached = hit.addon as NativeAddon;
  return cached;
}

/** Where the addon was loaded from (loads it if needed). */
export function addonLocation(): AddonLocation {
  native();
  return location as AddonLocation;
}
