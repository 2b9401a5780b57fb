/**
 * The only module that loads the addon. HYBRIDLM_ADDON overrides the path (a
 * test or a side build); otherwise node-gyp-build picks a prebuild or
 * build/Release. Load failures become one message with concrete fixes.
 */
import * as fs from 'fs';
import * as path from 'path';
import { HybridLMError } from './errors';
import type { NativeAddon } from './native-types';

let cached: NativeAddon | undefined;

/** The package root: the nearest ancestor of this file with hybridlm's package.json (src, dist or a bench build). */
function packageRoot(): string {
  let dir = path.resolve(__dirname, '..');
  for (let up = 0; up < 4; up++) {
    try {
      if (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name === 'hybridlm') return dir;
    } catch {
      // not here; keep walking up
    }
    dir = path.dirname(dir);
  }
  return path.resolve(__dirname, '..');
}

/** The loaded addon (loaded on first use). */
export function native(): NativeAddon {
  if (cached) return cached;
  const override = process.env.HYBRIDLM_ADDON;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    cached = (override ? require(path.resolve(override)) : require('node-gyp-build')(packageRoot())) as NativeAddon;
  } catch (err) {
    throw new HybridLMError(
      `could not load the hybridlm native addon (${(err as Error).message.split('\n')[0]}). ` +
        'No prebuild matched this platform and no local build was found: run `npm run build:native` ' +
        '(needs cmake or node-gyp, and a C++17 compiler), or reinstall with `npm install hybridlm`.',
      'ERR_HYBRIDLM_ADDON',
      { cause: err },
    );
  }
  return cached;
}
