/**
 * The kernel API's `device` option: the CPU is the default, CUDA runs where a
 * device is usable, and anywhere else the call rejects with DeviceError giving
 * the device check's reason (lib/device/).
 */
import { cudaReport } from '../../lib/device/select-device';
import { ArgumentError, DeviceError, callNative } from '../../lib/errors';
import { kernels } from '../../lib/kernels';
import { native } from '../../lib/native';
import { Tensor } from '../../lib/tensor';
import { prng, randn } from './helpers';

const cuda = native().cudaStatus();

describe('kernel device option', () => {
  const r = prng(7);
  const x = randn(r, [3, 16]);
  const w = randn(r, [16]);

  test("'cpu' is the default", async () => {
    const a = await kernels.rmsNorm(x, w);
    const b = await kernels.rmsNorm(x, w, { device: 'cpu' });
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
  });

  test('an unknown device is an ArgumentError, in TS and natively', async () => {
    await expect(kernels.rmsNorm(x, w, { device: 'tpu' as 'cpu' })).rejects.toBeInstanceOf(ArgumentError);
    await expect(
      callNative(() => native().rmsNorm(new Float32Array(48), new Float32Array(16), 3, 16, { device: 'tpu' as 'cpu' })),
    ).rejects.toThrow(/device must be 'cpu' or 'cuda', got 'tpu'/);
  });

  (cuda.available ? test.skip : test)('cuda without a usable device rejects with DeviceError and the reason', async () => {
    const call = kernels.matmul(x, randn(r, [4, 16]), { device: 'cuda' });
    await expect(call).rejects.toBeInstanceOf(DeviceError);
    // The reason is the device check's (library search + child-process self-test), as loadModel gives it.
    const report = await cudaReport();
    await expect(kernels.rmsNorm(x, w, { device: 'cuda' })).rejects.toThrow(`device 'cuda' is not available: ${report.reason}`);
  });

  (cuda.available ? test : test.skip)('cuda runs the op where a device is usable', async () => {
    const y = await kernels.swiglu(x, x, { device: 'cuda' });
    expect(y).toBeInstanceOf(Tensor);
    expect(y.shape).toEqual([3, 16]);
  });
});
