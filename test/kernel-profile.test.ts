// One adapter classifier (webgpu/runtime.ts kernelProfileOf) picks the kernel variants of both the inference
// engine and the training graph: software adapters get 'cpu-like', real GPUs 'gpu'.
import { describe, expect, it } from 'vitest';
import { nodeGpu } from '../engine/webgpu/node-device.node.ts';
import { GpuRuntime, kernelProfileOf } from '../engine/webgpu/runtime.ts';

const adapter = (architecture: string, device: string, description: string) => ({ architecture, device, description });

describe('kernelProfileOf', () => {
  it.each([
    ['SwiftShader', adapter('swiftshader', '', 'SwiftShader Device (Subzero)')],
    ['llvmpipe', adapter('', '', 'llvmpipe (LLVM 15.0.6, 256 bits)')],
    ['lavapipe', adapter('', 'lavapipe', '')],
  ])('%s is software: cpu-like', (_, info) => {
    expect(kernelProfileOf(info)).toBe('cpu-like');
  });

  it.each([
    ['an NVIDIA H200', adapter('hopper', '', 'NVIDIA H200')],
    ['an Apple GPU', adapter('metal-3', '', 'Apple M2')],
    ['an adapter that says nothing', adapter('', '', '')],
  ])('%s is a GPU', (_, info) => {
    expect(kernelProfileOf(info)).toBe('gpu');
  });

  it("this machine's Dawn adapter gets the profile the runtime picks by default", async () => {
    const ctx = await nodeGpu();
    expect(new GpuRuntime(ctx).profile).toBe(kernelProfileOf(ctx.adapterInfo));
  });
});
