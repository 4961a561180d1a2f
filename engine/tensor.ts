// The one CPU tensor type of the engine: a row-major float32 array and its shape.

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

export function tensor(shape: number[], data?: Float32Array | number[]): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const d = data === undefined ? new Float32Array(size) : data instanceof Float32Array ? data : Float32Array.from(data);
  if (d.length !== size) throw new Error(`tensor: data has ${d.length} values, shape [${shape}] needs ${size}`);
  return { shape, data: d };
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Rows [start, end) of a 2-D tensor, copied. */
export function sliceRows(t: Tensor, start: number, end: number): Tensor {
  const cols = t.shape[1];
  return tensor([end - start, cols], t.data.slice(start * cols, end * cols));
}

/** Columns [start, end) of a 2-D tensor, copied. */
export function sliceCols(t: Tensor, start: number, end: number): Tensor {
  const [rows, cols] = t.shape;
  const w = end - start;
  const out = new Float32Array(rows * w);
  for (let r = 0; r < rows; r++) out.set(t.data.subarray(r * cols + start, r * cols + end), r * w);
  return tensor([rows, w], out);
}

export function maxAbsDiff(a: Tensor | Float32Array, b: Tensor | Float32Array): number {
  const x = a instanceof Float32Array ? a : a.data;
  const y = b instanceof Float32Array ? b : b.data;
  if (x.length !== y.length) throw new Error(`maxAbsDiff: sizes differ (${x.length} vs ${y.length})`);
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i] - y[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}
