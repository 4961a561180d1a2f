// The attention mask of one layer, as the prefill computes it (hymba-spec.md; NVlabs barebones_hymba):
// a query at position q sees key k when k ≤ q (causal) and
//   - the layer is global, or
//   - k is a meta token (k < M: meta tokens stay visible to every query), or
//   - k is inside the window: q − k ≤ W (W + 1 positions, the query itself included).
// Positions count the M meta tokens first, then the text.

/** Why a query–key cell is what it is (the heat map colours these). */
export const CELL = { future: 0, outside: 1, window: 2, meta: 3, global: 4 } as const;
export type CellKind = (typeof CELL)[keyof typeof CELL];
export const CELL_NAMES = [
  'future (causal mask)',
  'outside the window',
  'inside the window',
  'meta token',
  'global: everything before',
] as const;

export interface MaskSpec {
  global: boolean;
  /** Meta tokens at the front (0 when they are off). */
  meta: number;
  /** Text tokens. */
  tokens: number;
  window: number;
}

/** The [N × N] mask (N = meta + tokens), row = query, column = key, values from CELL. */
export function maskCells({ global, meta, tokens, window }: MaskSpec): Uint8Array {
  const n = meta + tokens;
  const cells = new Uint8Array(n * n);
  for (let q = 0; q < n; q++) {
    for (let k = 0; k < n; k++) {
      let kind: CellKind;
      if (k > q) kind = CELL.future;
      else if (k < meta) kind = CELL.meta;
      else if (global) kind = CELL.global;
      else kind = q - k <= window ? CELL.window : CELL.outside;
      cells[q * n + k] = kind;
    }
  }
  return cells;
}

/** How many cells a query may attend to (everything but future and outside-the-window cells). */
export function visibleCount(cells: Uint8Array): number {
  let n = 0;
  for (const c of cells) if (c !== CELL.future && c !== CELL.outside) n++;
  return n;
}
