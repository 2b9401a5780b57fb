/**
 * The source of the CUDA probe child (cuda-probe.ts runs it with `node -e`).
 * Plain JavaScript text, so the same code runs from the TypeScript sources and
 * from dist/. It loads the addon, opens the CUDA library, and when a device is
 * visible runs a tiny model on CPU and on CUDA and reports how far the logits
 * are apart. It prints one JSON line; a faulting driver kills only this child.
 * Inputs (environment): HYBRIDLM_PROBE_ADDON, HYBRIDLM_PROBE_LIBRARY,
 * HYBRIDLM_PROBE_SPEC (a JSON file: { model, tokens, next }).
 */
export const CUDA_PROBE_SCRIPT = String.raw`
'use strict';
const fs = require('fs');
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
async function logits(addon, model, device, tokens, next) {
  const h = await addon.loadModel({ ...model, device, threads: 1, pageSize: 16, quantize: 'none' });
  try {
    const seq = h.createSequence();
    const prefill = await h.step(Int32Array.of(seq), Int32Array.of(tokens.length), tokens, Uint8Array.of(1));
    const decode = await h.step(Int32Array.of(seq), Int32Array.of(1), Int32Array.of(next), Uint8Array.of(0));
    return Float32Array.from([...prefill[0], ...decode[0]]);
  } finally {
    h.dispose();
  }
}
(async () => {
  const addon = require(process.env.HYBRIDLM_PROBE_ADDON);
  addon.cudaUseLibrary(process.env.HYBRIDLM_PROBE_LIBRARY);
  const status = addon.cudaStatus();
  if (!status.available) return say({ status });
  const spec = JSON.parse(fs.readFileSync(process.env.HYBRIDLM_PROBE_SPEC, 'utf8'), (k, v) =>
    v && typeof v === 'object' && typeof v.$number === 'string' ? Number(v.$number) : v);
  const tokens = Int32Array.from(spec.tokens);
  const started = Date.now();
  const cpu = await logits(addon, spec.model, 'cpu', tokens, spec.next);
  const gpu = await logits(addon, spec.model, 'cuda', tokens, spec.next);
  let maxAbsDiff = 0, maxAbsRef = 0, finite = cpu.length === gpu.length;
  for (let i = 0; i < cpu.length && finite; i++) {
    if (!Number.isFinite(gpu[i])) finite = false;
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(cpu[i] - gpu[i]));
    maxAbsRef = Math.max(maxAbsRef, Math.abs(cpu[i]));
  }
  say({ status, selfTest: { values: cpu.length, maxAbsDiff, maxAbsRef, finite, ms: Date.now() - started } });
})().catch((e) => say({ error: String((e && e.message) || e).split('\n')[0] }));
`;
