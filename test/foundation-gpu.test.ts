// The vertical-slice kernel through Dawn: the same WGSL the <hymba-rmsnorm-demo> widget runs in the browser.
import { describe, expect, it } from 'vitest';
import { nodeGpu } from '../engine/webgpu/node-device.node.ts';
import { rmsnormCpu, runSliceRmsnorm, sliceDemoInput, SliceShapeError } from '../engine/webgpu/kernels/slice.ts';
import { maxAbsDiff } from '../engine/tensor.ts';

describe('slice RMSNorm kernel (Dawn)', () => {
  it('matches the CPU reference, including a row wider than the workgroup and a ragged width', async () => {
    const { device } = await nodeGpu();
    for (const [rows, cols] of [
      [4, 64],
      [3, 200],
      [1, 7],
    ]) {
      const input = sliceDemoInput(rows, cols, 42);
      const gpu = await runSliceRmsnorm(device, input);
      expect(gpu.length).toBe(rows * cols);
      expect(maxAbsDiff(gpu, rmsnormCpu(input))).toBeLessThan(1e-5);
    }
  });

  it('normalises every row to RMS ≈ 1 when the gain is 1, whatever its scale', async () => {
    const { device } = await nodeGpu();
    const input = { ...sliceDemoInput(4, 96, 7), weight: new Float32Array(96).fill(1) };
    const y = await runSliceRmsnorm(device, input);
    for (let r = 0; r < 4; r++) {
      const row = y.subarray(r * 96, (r + 1) * 96);
      const rms = Math.sqrt(row.reduce((s, v) => s + v * v, 0) / 96);
      expect(rms).toBeCloseTo(1, 4);
    }
  });

  it('the demo input never overflows f32: the widget’s largest size (64 rows × 1024) gives finite RMS ≈ 1 rows', async () => {
    const { device } = await nodeGpu();
    const input = { ...sliceDemoInput(64, 1024, 3), weight: new Float32Array(1024).fill(1) };
    const y = await runSliceRmsnorm(device, input);
    expect(y.every(Number.isFinite)).toBe(true);
    for (const r of [0, 40, 63]) {
      const row = y.subarray(r * 1024, (r + 1) * 1024);
      expect(Math.sqrt(row.reduce((s, v) => s + v * v, 0) / 1024)).toBeCloseTo(1, 3);
    }
  });

  it('rejects mismatched shapes with a SliceShapeError naming the problem', async () => {
    const { device } = await nodeGpu();
    const input = sliceDemoInput(2, 8, 1);
    await expect(runSliceRmsnorm(device, { ...input, weight: new Float32Array(5) })).rejects.toThrow(SliceShapeError);
    await expect(runSliceRmsnorm(device, { ...input, rows: 3 })).rejects.toThrow(/x has 16 values, \[3, 8\] needs 24/);
  });
});
