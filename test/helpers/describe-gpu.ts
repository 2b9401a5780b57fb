/** describeGpu: runs a block only where a CUDA device is usable; elsewhere it is skipped with the reason printed. */
import { native } from '../../lib/native';

export function describeGpu(name: string, body: () => void): void {
  const status = native().cudaStatus();
  if (status.available) {
    describe(`${name} [cuda: ${status.reason}]`, body);
  } else {
    // eslint-disable-next-line no-console
    console.log(`[hybridlm] GPU tests skipped (${name}): ${status.reason}`);
    describe.skip(`${name} [skipped: no CUDA device]`, body);
  }
}
