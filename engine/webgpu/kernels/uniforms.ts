// A kernel's uniform struct and its JS packer from one field list, so the WGSL and the numbers written for it cannot
// drift apart (order, count, which fields are floats):
//   const P = uniforms({ rows: 'u32', eps: 'f32' });
//   `${P.wgsl}` → struct Params { rows: u32, eps: f32 }        P.pack({ rows, eps }) → [rows, f32 bits of eps]
// The runtime writes every field as a u32 word (runtime.ts Pass.dispatch); an f32 field travels as its bits.

import { f32bits } from '../runtime.ts';

export type UniformType = 'u32' | 'f32';

/** The values of a field list, one number per field. */
export type UniformValues<F extends Record<string, UniformType>> = { [K in keyof F]: number };

export interface Uniforms<F extends Record<string, UniformType>> {
  /** The WGSL struct declaration (named Params unless told). */
  readonly wgsl: string;
  /** The field values as the u32 words of the struct, in declaration order. */
  pack(values: UniformValues<F>): number[];
}

export function uniforms<const F extends Record<string, UniformType>>(fields: F, struct = 'Params'): Uniforms<F> {
  const names = Object.keys(fields) as Array<keyof F & string>;
  return {
    wgsl: `struct ${struct} { ${names.map((n) => `${n}: ${fields[n]}`).join(', ')} }`,
    pack: (values) =>
      names.map((n) => {
        const v = values[n];
        if (typeof v !== 'number') throw new Error(`uniform field ${n} has no value`);
        return fields[n] === 'f32' ? f32bits(v) : v;
      }),
  };
}
