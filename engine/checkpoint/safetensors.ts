// The safetensors format: 8 bytes little-endian header length N, N bytes of JSON header, then the raw data.
// The header maps tensor names to {dtype, shape, data_offsets: [begin, end]} relative to the data section.
//
// Everything here validates before it allocates: a hostile header cannot make us read outside the file,
// allocate more than the file holds, or loop forever. The rules are those of the reference implementation
// (huggingface/safetensors): a JSON object header of at most 100 MB, and tensors that tile the data section
// exactly, with no gap, overlap or trailing bytes.

import { brief } from '../config.ts';

export type DType = 'F32' | 'F16' | 'BF16' | 'I32' | 'I64';
const BYTES: Record<DType, number> = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8 };

export class CheckpointError extends Error {
  /** The file (or URL) the problem is in. */
  readonly file: string;
  /** The tensor or key concerned, when there is one. */
  readonly tensor: string | undefined;
  constructor(file: string, message: string, tensor?: string) {
    super(`${file}${tensor ? ` (tensor "${tensor}")` : ''}: ${message}`);
    this.name = 'CheckpointError';
    this.file = file;
    this.tensor = tensor;
  }
}

export interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  /** Absolute byte offsets in the file. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  file: string;
  /** Absolute offset of the data section. */
  dataStart: number;
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
}

/** Limit on the JSON header, as in the reference implementation (100 MB). */
const MAX_HEADER = 100_000_000;

/** Length of the header prefix: read this many bytes first to know how much header to read. */
export function headerLength(file: string, first8: Uint8Array, fileSize: number): number {
  if (fileSize < 8 || first8.length < 8)
    throw new CheckpointError(file, `truncated: ${fileSize} bytes is shorter than the 8-byte header length`);
  const view = new DataView(first8.buffer, first8.byteOffset, 8);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER))
    throw new CheckpointError(file, `bad header: declared header length ${declared} exceeds the ${MAX_HEADER}-byte limit`);
  const n = Number(declared);
  if (8 + n > fileSize) throw new CheckpointError(file, `truncated: header of ${n} bytes does not fit in a ${fileSize}-byte file`);
  return n;
}

/** Parse and validate the header bytes (the N bytes after the 8-byte length). */
export function parseHeader(file: string, headerBytes: Uint8Array, fileSize: number): SafetensorsHeader {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (e) {
    throw new CheckpointError(file, `bad header: not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new CheckpointError(file, 'bad header: expected a JSON object');
  const dataStart = 8 + headerBytes.length;
  const dataSize = fileSize - dataStart;
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (
        value === null ||
        typeof value !== 'object' ||
        Array.isArray(value) ||
        !Object.values(value).every((v) => typeof v === 'string')
      ) {
        throw new CheckpointError(file, `bad header: __metadata__ is ${brief(value)}, expected an object of strings`);
      }
      metadata = value as Record<string, string>;
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new CheckpointError(file, `bad header: entry is ${brief(value)}, expected {dtype, shape, data_offsets}`, name);
    }
    const { dtype, shape, data_offsets: offsets } = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    // hasOwn, not `in`: "toString" or "constructor" must not pass as a dtype.
    if (typeof dtype !== 'string' || !Object.hasOwn(BYTES, dtype)) {
      throw new CheckpointError(file, `unsupported dtype ${brief(dtype)} (supported: ${Object.keys(BYTES).join(', ')})`, name);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new CheckpointError(file, `bad shape ${brief(shape)}, expected a list of non-negative integers`, name);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new CheckpointError(file, `bad data_offsets ${brief(offsets)}, expected [begin, end] byte offsets`, name);
    }
    const [b, e] = offsets as number[];
    if (b > e) throw new CheckpointError(file, `data_offsets [${b}, ${e}] run backwards`, name);
    if (e > dataSize)
      throw new CheckpointError(file, `data_offsets [${b}, ${e}] lie outside the ${dataSize}-byte data section (file truncated?)`, name);
    const count = (shape as number[]).reduce((a, c) => a * c, 1);
    const bytes = count * BYTES[dtype as DType];
    if (bytes !== e - b) {
      throw new CheckpointError(file, `shape [${shape}] of ${dtype} needs ${bytes} bytes but data_offsets span ${e - b}`, name);
    }
    tensors.set(name, { name, dtype: dtype as DType, shape: shape as number[], begin: dataStart + b, end: dataStart + e });
  }
  checkTiling(file, [...tensors.values()], dataStart, dataSize);
  return { file, dataStart, tensors, metadata };
}

/** Tensors must cover the data section back to back, as the reference implementation requires. */
function checkTiling(file: string, entries: TensorEntry[], dataStart: number, dataSize: number): void {
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = dataStart;
  let previous = '';
  for (const t of entries) {
    const [b, e] = [t.begin - dataStart, t.end - dataStart];
    if (t.begin < at) throw new CheckpointError(file, `data_offsets [${b}, ${e}] overlap tensor "${previous}"`, t.name);
    if (t.begin > at)
      throw new CheckpointError(file, `data_offsets [${b}, ${e}] leave a gap: expected it to begin at ${at - dataStart}`, t.name);
    at = t.end;
    previous = t.name;
  }
  if (at !== dataStart + dataSize) {
    throw new CheckpointError(file, `tensors cover ${at - dataStart} bytes but the data section holds ${dataSize} (trailing bytes)`);
  }
}

/** Decode raw little-endian tensor bytes to float32. */
export function toFloat32(entry: TensorEntry, bytes: Uint8Array): Float32Array {
  const n = (entry.end - entry.begin) / BYTES[entry.dtype];
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (entry.dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      break;
    case 'BF16': {
      const u = new Uint32Array(1);
      const f = new Float32Array(u.buffer);
      for (let i = 0; i < n; i++) {
        u[0] = view.getUint16(2 * i, true) << 16;
        out[i] = f[0];
      }
      break;
    }
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      break;
    case 'I32':
      for (let i = 0; i < n; i++) out[i] = view.getInt32(4 * i, true);
      break;
    case 'I64':
      for (let i = 0; i < n; i++) out[i] = Number(view.getBigInt64(8 * i, true));
      break;
  }
  return out;
}

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Float32 → bfloat16 bits, round to nearest even (as torch does). */
export function floatToBf16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  if (Number.isNaN(x)) return 0x7fc0;
  return ((u + 0x7fff + ((u >> 16) & 1)) >>> 16) & 0xffff;
}

/** Float32 → IEEE half bits, round to nearest even. */
export function floatToHalf(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** Serialise tensors to a safetensors file (used to write model folders and CLI outputs). */
export function writeSafetensors(
  tensors: Array<{ name: string; dtype: DType; shape: number[]; data: Float32Array | Int32Array | Uint16Array }>,
  metadata: Record<string, string> = { format: 'pt' },
): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const t of tensors) {
    if (Object.hasOwn(header, t.name)) throw new Error(`writeSafetensors: the name "${t.name}" is used twice`);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== n) throw new Error(`writeSafetensors: ${t.name} has ${t.data.length} values, shape [${t.shape}] needs ${n}`);
    let bytes: Uint8Array;
    if (t.dtype === 'F32' || t.dtype === 'I32') {
      const src = t.dtype === 'F32' ? Float32Array.from(t.data as Float32Array) : Int32Array.from(t.data as Int32Array);
      bytes = new Uint8Array(src.buffer);
    } else if (t.dtype === 'BF16' || t.dtype === 'F16') {
      const u16 =
        t.data instanceof Uint16Array ? t.data : Uint16Array.from(t.data as Float32Array, t.dtype === 'BF16' ? floatToBf16 : floatToHalf);
      bytes = new Uint8Array(u16.buffer, u16.byteOffset, u16.byteLength);
    } else throw new Error(`writeSafetensors: cannot write dtype ${t.dtype}`);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  while ((8 + new TextEncoder().encode(json).length) % 8 !== 0) json += ' ';
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
