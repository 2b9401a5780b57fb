/** Float64 reference for SwiGLU: out = silu(gate) * up, elementwise. */
import { siluRef } from './rmsnorm';

export function swigluRef(gate: ArrayLike<number>, up: ArrayLike<number>): Float64Array {
  const out = new Float64Array(gate.length);
  for (let i = 0; i < gate.length; i++) out[i] = siluRef(gate[i]) * up[i];
  return out;
}
