// Kernel uniforms from one field list (engine/webgpu/kernels/uniforms.ts): the WGSL struct and the packed words
// come from the same declaration, in the same order, floats as their f32 bits.
import { describe, expect, it } from 'vitest';
import { uniforms } from '../engine/webgpu/kernels/uniforms.ts';

describe('uniforms', () => {
  const P = uniforms({ rows: 'u32', eps: 'f32', cols: 'u32' });

  it('declares the struct in field order with WGSL types', () => {
    expect(P.wgsl).toBe('struct Params { rows: u32, eps: f32, cols: u32 }');
  });

  it('packs the values in declaration order, whatever order they are given in; an f32 as its bits', () => {
    const words = P.pack({ cols: 7, eps: 1e-5, rows: 3 });
    expect(words).toEqual([3, new Uint32Array(new Float32Array([1e-5]).buffer)[0], 7]);
  });

  it('a missing field is an error, not a silent 0', () => {
    expect(() => P.pack({ rows: 1, cols: 2 } as unknown as Parameters<typeof P.pack>[0])).toThrow(/eps/);
  });
});
