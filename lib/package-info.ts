/** hybridlm's own package: where it is installed and its version. */
import * as fs from 'fs';
import * as path from 'path';

let root: { dir: string; version: string } | undefined;

function find(): { dir: string; version: string } {
  // The nearest ancestor of this file with hybridlm's package.json (src, dist or a bench build).
  let dir = path.resolve(__dirname, '..');
  for (let up = 0; up < 4; up++) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
      if (pkg.name === 'hybridlm') return { dir, version: String(pkg.version) };
    } catch {
      // not here; keep walking up
    }
    dir = path.dirname(dir);
  }
  return { dir: path.resolve(__dirname, '..'), version: 'unknown' };
}

/** The folder hybridlm is installed in (holds its package.json, prebuilds/, build/). */
export function packageRoot(): string {
  root ??= find();
  return root.dir;
}

/** hybridlm's version from its package.json. */
export function packageVersion(): string {
  root ??= find();
  return root.version;
}
