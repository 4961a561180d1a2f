// A tiny flag parser: `--name value`, `--name=value`, and boolean `--flag`. Unknown flags are errors.

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type FlagKind = 'string' | 'boolean';
export interface Command {
  usage: string;
  flags: Record<string, FlagKind>;
  run(args: Args): Promise<number | void>;
}

export class Args {
  readonly values: Map<string, string | boolean>;
  readonly positional: string[];
  constructor(values: Map<string, string | boolean>, positional: string[]) {
    this.values = values;
    this.positional = positional;
  }
  has(name: string): boolean {
    return this.values.has(name);
  }
  flag(name: string): boolean {
    return this.values.get(name) === true;
  }
  string(name: string): string | undefined {
    const v = this.values.get(name);
    return typeof v === 'string' ? v : undefined;
  }
  required(name: string): string {
    const v = this.string(name);
    if (v === undefined) throw new UsageError(`--${name} is required`);
    return v;
  }
  int(name: string, fallback?: number, min = -Infinity): number {
    const v = this.string(name);
    if (v === undefined) {
      if (fallback === undefined) throw new UsageError(`--${name} is required`);
      return fallback;
    }
    const n = decimalInt(v);
    if (n === null) throw new UsageError(`--${name} expects a decimal integer, got "${v}"`);
    if (n < min) throw new UsageError(`--${name} must be ≥ ${min}, got ${n}`);
    return n;
  }
  number(name: string, fallback?: number): number {
    const v = this.string(name);
    if (v === undefined) {
      if (fallback === undefined) throw new UsageError(`--${name} is required`);
      return fallback;
    }
    const n = Number(v);
    if (!Number.isFinite(n)) throw new UsageError(`--${name} expects a number, got "${v}"`);
    return n;
  }
  /** A comma-separated list of decimal integers ≥ min, e.g. --ids 1,2,3 (no empty items: "1,,2" is refused). */
  ints(name: string, min = 1): number[] | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    const out = v.split(',').map((s) => decimalInt(s.trim()));
    const bad = out.findIndex((n) => n === null || n < min);
    if (bad >= 0)
      throw new UsageError(
        `--${name} expects comma-separated integers (decimal, ≥ ${min}), got "${v}" (item ${bad + 1}: "${v.split(',')[bad].trim()}")`,
      );
    return out as number[];
  }
}

/** A plain decimal integer ("12", "-3"), or null: Number() would also take "0x10", "1e3", "" and " ". */
function decimalInt(text: string): number | null {
  if (!/^-?\d{1,15}$/.test(text)) return null;
  return Number(text);
}

export function parseArgs(argv: string[], flags: Record<string, FlagKind>): Args {
  const values = new Map<string, string | boolean>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    const kind = Object.hasOwn(flags, name) ? flags[name] : undefined; // not "--toString" or "--__proto__"
    if (!kind) throw new UsageError(`unknown flag --${name}`);
    if (kind === 'boolean') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      values.set(name, true);
    } else if (eq >= 0) values.set(name, a.slice(eq + 1));
    else {
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`--${name} needs a value`);
      values.set(name, next);
    }
  }
  return new Args(values, positional);
}
