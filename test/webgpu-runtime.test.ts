// The runtime's pipelines (engine/webgpu/runtime.ts): a pass records its dispatches and reads in order and encodes
// them at submit(), once its kernels' pipelines are compiled side by side (GpuRuntime.prepare); a kernel that does
// not compile is a GpuValidationError naming it, and the runtime stays usable. Dawn (SwiftShader without a GPU).
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeGpu } from '../engine/webgpu/node-device.node.ts';
import { GpuValidationError, type GpuContext } from '../engine/webgpu/device.ts';
import { GpuRuntime, type Kernel } from '../engine/webgpu/runtime.ts';

// out[i] = x[i] * p.k + p.add: two kernels of one text family, so a pass uses several pipelines.
const affine = (name: string, op: '+' | '-'): Kernel => ({
  name,
  bindings: ['read', 'rw'],
  wgsl: /* wgsl */ `
struct Params { k: u32, add: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(4)
fn main(@builtin(global_invocation_id) g: vec3u) { out[g.x] = x[g.x] * f32(p.k) ${op} f32(p.add); }`,
});
const plus = affine('test-plus', '+');
const minus = affine('test-minus', '-');
const broken: Kernel = { name: 'test-broken', bindings: ['rw'], wgsl: 'fn main( { this is not WGSL' };

let gpu: GpuContext;
beforeAll(async () => {
  gpu = await nodeGpu();
});

describe('GpuRuntime pipelines', () => {
  it('a pass runs its dispatches and reads in the order they were recorded, compiled side by side at submit', async () => {
    const rt = new GpuRuntime(gpu);
    const x = rt.upload(new Float32Array([1, 2, 3, 4]), 'x');
    const y = rt.create(16, 'y');
    const z = rt.create(16, 'z');
    const pass = rt.begin('order');
    pass.dispatch(plus, [2, 1], [x, y], [1]); // y = 2x + 1
    pass.read(y, 4);
    pass.dispatch(minus, [3, 1], [y, z], [1]); // z = 3y − 1, after the read of y
    pass.dispatch(plus, [1, 0], [z, y], [1]); // y = z: the first read must still see 2x + 1
    pass.read(y, 4);
    const [first, second] = await pass.submit();
    expect(Array.from(first)).toEqual([3, 5, 7, 9]);
    expect(Array.from(second)).toEqual([8, 14, 20, 26]);
    rt.dispose();
  });

  it('prepare() compiles pipelines the next pass then finds compiled; an unknown kernel compiles at its first use', async () => {
    const rt = new GpuRuntime(gpu);
    await rt.prepare([plus, minus, plus]);
    expect(rt.pipeline(plus).pipeline).toBe(rt.pipeline(plus).pipeline);
    const other = affine('test-plus-again', '+');
    other.wgsl += '\n// another text: another pipeline';
    expect(rt.pipeline(other).pipeline).not.toBe(rt.pipeline(plus).pipeline);
    rt.dispose();
  });

  it('a kernel that does not compile is a GpuValidationError naming it; the runtime runs the next pass', async () => {
    const rt = new GpuRuntime(gpu);
    await expect(rt.prepare([broken])).rejects.toThrow(GpuValidationError);
    await expect(rt.prepare([broken])).rejects.toThrow(/test-broken/);
    const buf = rt.create(16, 'b');
    const bad = rt.begin('bad');
    bad.dispatch(broken, [], [buf], [1]);
    await expect(bad.submit()).rejects.toThrow(/kernel test-broken does not compile/);
    const x = rt.upload(new Float32Array([1, 2, 3, 4]), 'x');
    const good = rt.begin('good');
    good.dispatch(plus, [1, 1], [x, buf], [1]);
    good.read(buf, 4);
    expect(Array.from((await good.submit())[0])).toEqual([2, 3, 4, 5]);
    rt.dispose();
  });
});
