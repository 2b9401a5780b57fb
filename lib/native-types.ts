/**
 * The whole addon surface, typed. lib/native.ts is the only loader; every
 * other module goes through these types.
 */
import type { NativeKernelAddon } from './native-kernel-types';

/** CPU features the addon detected at load. */
export interface NativeCpuInfo {
  arch: string;
  avx2: boolean;
  fma: boolean;
  f16c: boolean;
  avx512f: boolean;
  avx512bw: boolean;
  avx512vnni: boolean;
  avx512bf16: boolean;
  neon: boolean;
  dotprod: boolean;
  threads: number;
}

export interface NativeAddon extends NativeKernelAddon, NativeModelAddon {
  cpuInfo(): NativeCpuInfo;
  cudaAvailable(): boolean;
}

/** Model/sequence functions (native/binding/model_handle.cpp). */
export interface NativeModelAddon {}
