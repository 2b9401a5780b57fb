/**
 * Types of the addon's standalone kernel functions (native/binding/kernels.cpp).
 * Filled in by the kernel API work; lib/native-types.ts includes them.
 */
export interface NativeKernelAddon {}
