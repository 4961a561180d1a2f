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
    const n = Number(v);
    if (!Number.isInteger(n)) throw new UsageError(`--${name} expects an integer, got "${v}"`);
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
  /** A comma-separated list of integers, e.g. --ids 1,2,3 */
  ints(name: string): number[] | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    const parts = v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    const out = parts.map(Number);
    if (out.length === 0 || out.some((n) => !Number.isInteger(n)))
      throw new UsageError(`--${name} expects comma-separated integers, got "${v}"`);
    return out;
  }
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
    const kind = flags[name];
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
