/**
 * Per-kernel, per-dtype tolerances (docs/KERNELS.md, Numerics contract): optimised kernel vs the
 * float64 reference on the same rounded inputs. An element passes when
 * |got - ref| <= atol * refRms + rtol * |ref| (atol is scaled by the
 * reference RMS so outputs far from unit scale are judged fairly), and the
 * whole tensor needs NMSE = sum (got - ref)^2 / sum ref^2 <= nmse.
 */
export interface Tolerance {
  rtol: number;
  atol: number;
  nmse: number;
}

const fp32Nmse = 1e-7;

export const TOL = {
  /** norms, conv, routing weights, swiglu (elementwise f32): rel 1e-5 */
  elementwise: { rtol: 1e-5, atol: 1e-5, nmse: fp32Nmse },
  /** one state-update step */
  ssmStep: { rtol: 3e-4, atol: 1e-4, nmse: fp32Nmse },
  /** SSD / recurrent scan (T <= 32K) */
  ssmScan: { rtol: 1e-3, atol: 1e-4, nmse: fp32Nmse },
  /** chunked scan vs the native recurrence: same math, different association */
  ssmChunkedVsRecurrent: { rtol: 1e-5, atol: 1e-5, nmse: 1e-10 },
  /** attention prefill / decode */
  attention: { rtol: 1e-4, atol: 1e-5, nmse: fp32Nmse },
  /** MoE FFN: two matmuls and a SwiGLU in f32 over dequantized weights */
  moe: { rtol: 1e-4, atol: 1e-5, nmse: fp32Nmse },
  /**
   * int8 MoE vs a reference that rounds its activations the same way: the
   * hidden rows are rounded from f32 (native) vs f64 (reference) values, so a
   * rare rounding tie can move one element by one step.
   */
  q8Activations: { rtol: 1e-3, atol: 2e-3, nmse: 1e-5 },
} satisfies Record<string, Tolerance>;

/** Quantized / widened matmul: |err| <= matmulRel * sum_k |x w| per output (fp32 accumulation). */
export const MATMUL_REL = 1e-5;

/** Two native runs that must agree bit-for-bit up to reassociation (split calls, paged vs contiguous). */
export const SAME_MATH: Tolerance = { rtol: 1e-6, atol: 1e-6, nmse: 1e-12 };
