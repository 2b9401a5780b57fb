/**
 * Finds libhybridlm_cuda.so. Order: $HYBRIDLM_CUDA_LIB (used alone when set),
 * then the optional package @hybridlm/cuda-<platform>-<arch> resolved from
 * hybridlm's own folder (its version must equal hybridlm's), then a local
 * `npm run build:cuda` beside the addon. Nothing here touches the GPU:
 * cuda-probe.ts does, in a child process. docs/ci.md describes the package.
 */
import * as fs from 'fs';
import * as path from 'path';

/** File name of the CUDA library, in the package and beside the addon. */
export const CUDA_LIBRARY_FILE = 'libhybridlm_cuda.so';

/** Platforms a CUDA package is published for. */
export const CUDA_PACKAGE_PLATFORMS: readonly string[] = ['linux-x64'];

/** The optional CUDA package's name for a platform. */
export function cudaPackageName(platform: string, arch: string): string {
  return `@hybridlm/cuda-${platform}-${arch}`;
}

/** Where a CUDA library was found. */
export type CudaLibraryOrigin = 'HYBRIDLM_CUDA_LIB' | 'package' | 'local build';

/** What the search needs (tests pass their own). */
export interface CudaLibrarySearch {
  /** hybridlm's package root: the package is resolved from here. */
  root: string;
  /** hybridlm's version: the package must have the same. */
  version: string;
  /** Folder of the loaded addon (a local CUDA build sits beside it). */
  addonDir: string;
  platform: string;
  arch: string;
  /** $HYBRIDLM_CUDA_LIB. */
  override?: string;
}

/** The CUDA package as found (or not). */
export interface CudaPackageInfo {
  name: string;
  /** Its folder, when installed. */
  dir?: string;
  version?: string;
  /** Why it cannot be used (not installed, wrong version, no library, no package for this platform). */
  problem?: string;
}

/** The result of a search: the library to probe (or null) and why each other place was passed over. */
export interface CudaLibraryResult {
  library: { origin: CudaLibraryOrigin; path: string } | null;
  package: CudaPackageInfo;
  /** One line per place passed over, in search order. */
  skipped: string[];
}

function inspectPackage(s: CudaLibrarySearch): CudaPackageInfo {
  const name = cudaPackageName(s.platform, s.arch);
  if (!CUDA_PACKAGE_PLATFORMS.includes(`${s.platform}-${s.arch}`)) {
    return { name, problem: `no CUDA package is published for ${s.platform}-${s.arch}` };
  }
  let manifest: string;
  try {
    manifest = require.resolve(`${name}/package.json`, { paths: [s.root] });
  } catch {
    return { name, problem: `${name} is not installed (npm skips it on other platforms, or with --omit=optional)` };
  }
  const dir = path.dirname(manifest);
  let version: string;
  try {
    version = String(JSON.parse(fs.readFileSync(manifest, 'utf8')).version);
  } catch (err) {
    // Node caches resolutions: a package removed since then reads as missing.
    const gone = (err as NodeJS.ErrnoException).code === 'ENOENT';
    return { name, ...(gone ? {} : { dir }), problem: gone ? `${name} is not installed` : `${manifest}: unreadable (${(err as Error).message})` };
  }
  if (version !== s.version) {
    return {
      name,
      dir,
      version,
      problem: `${name}@${version} (${dir}) does not match hybridlm@${s.version}; install ${name}@${s.version}`,
    };
  }
  if (!fs.existsSync(path.join(dir, CUDA_LIBRARY_FILE))) {
    return { name, dir, version, problem: `${name}@${version} (${dir}) has no ${CUDA_LIBRARY_FILE}` };
  }
  return { name, dir, version };
}

/** Looks for the CUDA library in the documented order. */
export function findCudaLibrary(s: CudaLibrarySearch): CudaLibraryResult {
  const pkg = inspectPackage(s);
  const skipped: string[] = [];
  if (s.override) {
    const file = path.resolve(s.override);
    if (fs.existsSync(file)) return { library: { origin: 'HYBRIDLM_CUDA_LIB', path: file }, package: pkg, skipped };
    return { library: null, package: pkg, skipped: [`HYBRIDLM_CUDA_LIB=${s.override}: not found`] };
  }
  if (pkg.dir && !pkg.problem) {
    return { library: { origin: 'package', path: path.join(pkg.dir, CUDA_LIBRARY_FILE) }, package: pkg, skipped };
  }
  skipped.push(pkg.problem as string);
  const local = path.join(s.addonDir, CUDA_LIBRARY_FILE);
  if (fs.existsSync(local)) return { library: { origin: 'local build', path: local }, package: pkg, skipped };
  skipped.push(`no local build at ${local} (\`npm run build:cuda\` makes one where nvcc is installed)`);
  return { library: null, package: pkg, skipped };
}
