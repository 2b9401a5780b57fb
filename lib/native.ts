/**
 * The only module that loads the addon. HYBRIDLM_ADDON overrides the path (a
 * test or a side build); otherwise node-gyp-build picks a prebuild or
 * build/Release. Load failures become one message with concrete fixes.
 */
import * as path from 'path';
import { HybridLMError } from './errors';
import type { NativeAddon } from './native-types';

let cached: NativeAddon | undefined;

/** The loaded addon (loaded on first use). */
export function native(): NativeAddon {
  if (cached) return cached;
  const root = path.resolve(__dirname, '..');
  const override = process.env.HYBRIDLM_ADDON;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    cached = (override ? require(path.resolve(override)) : require('node-gyp-build')(root)) as NativeAddon;
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
