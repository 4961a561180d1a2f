// Widget settings in the page URL: `?<widget-id>.<setting>=value`, one namespace per widget instance, so a link
// reproduces what the reader saw (TensorFlow Playground's "the URL is the lesson") and two widgets on one page never
// clash.
//
// The query string is untrusted input: anyone can craft a link. Every value is decoded against a typed field that
// validates and clamps it; a value that cannot be read becomes the field's default. Decoding never throws, and what
// comes out is always one of the values the field allows — so nothing from the URL reaches the page unchecked.

export interface NumberField {
  kind: 'number';
  default: number;
  min: number;
  max: number;
  /** Round to an integer. */
  int?: boolean;
  /** Round to the nearest multiple of this (e.g. 2 for an even length); implies int when it is an integer. */
  step?: number;
}
export interface EnumField<T extends string = string> {
  kind: 'enum';
  default: T;
  values: readonly T[];
}
export interface BooleanField {
  kind: 'boolean';
  default: boolean;
}
export interface StringField {
  kind: 'string';
  default: string;
  maxLength: number;
  /** The whole value must match (e.g. /^[a-z0-9-]*$/ for a model name that becomes part of a URL). */
  pattern?: RegExp;
}
export interface IntListField {
  kind: 'int-list';
  default: readonly number[];
  min: number;
  max: number;
  maxItems: number;
}
export type Field = NumberField | EnumField | BooleanField | StringField | IntListField;
export type Schema = Record<string, Field>;

type ValueOf<F extends Field> = F extends NumberField
  ? number
  : F extends EnumField<infer T>
    ? T
    : F extends BooleanField
      ? boolean
      : F extends StringField
        ? string
        : number[];
export type StateOf<S extends Schema> = { [K in keyof S]: ValueOf<S[K]> };

// Plain decimal numbers only: Number() would also accept "", " 1", "0x1f" and "Infinity".
const NUMBER = /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const INT = /^-?\d+$/;

function clamp(x: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, x));
}

/** A number field's value rounded as the field asks (to an integer, or to a multiple of `step` within the limits). */
function roundNumber(field: NumberField, x: number): number {
  if (field.step) {
    const k = Math.round(x / field.step) * field.step;
    return k > field.max ? k - field.step : k < field.min ? k + field.step : k;
  }
  return field.int ? Math.round(x) : x;
}

/** A field's value from its URL text. Never throws; unreadable text gives the default. */
export function decodeField(field: Field, text: string | null | undefined): unknown {
  if (text === null || text === undefined) return field.kind === 'int-list' ? [...field.default] : field.default;
  switch (field.kind) {
    case 'number': {
      if (!NUMBER.test(text)) return field.default;
      const x = Number(text);
      if (!Number.isFinite(x)) return field.default;
      return roundNumber(field, clamp(x, field.min, field.max)) + 0; // + 0 turns −0 into 0
    }
    case 'enum':
      return field.values.includes(text) ? text : field.default;
    case 'boolean':
      if (text === '1' || text === 'true') return true;
      if (text === '0' || text === 'false') return false;
      return field.default;
    case 'string':
      if (text.length > field.maxLength || (field.pattern && !wholeMatch(field.pattern, text))) return field.default;
      return text;
    case 'int-list': {
      if (text === '') return [];
      const parts = text.split(',');
      if (parts.length > field.maxItems || !parts.every((p) => INT.test(p))) return [...field.default];
      return parts.map((p) => clamp(Number(p), field.min, field.max) + 0);
    }
  }
}

function wholeMatch(pattern: RegExp, text: string): boolean {
  const m = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')).exec(text);
  return m !== null && m.index === 0 && m[0].length === text.length;
}

/** A field's value as URL text (the inverse of decodeField for every valid value). */
export function encodeField(field: Field, value: unknown): string {
  switch (field.kind) {
    case 'boolean':
      return value ? '1' : '0';
    case 'int-list':
      return (value as number[]).join(',');
    default:
      return String(value);
  }
}

/** Whether a value is one the field allows (what decodeField may return). */
export function isValid(field: Field, value: unknown): boolean {
  switch (field.kind) {
    case 'number':
      return (
        typeof value === 'number' &&
        Number.isFinite(value) &&
        value >= field.min &&
        value <= field.max &&
        (!field.int || Number.isInteger(value)) &&
        (!field.step || roundNumber(field, value) === value)
      );
    case 'enum':
      return typeof value === 'string' && field.values.includes(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string' && value.length <= field.maxLength && (!field.pattern || wholeMatch(field.pattern, value));
    case 'int-list':
      return (
        Array.isArray(value) &&
        value.length <= field.maxItems &&
        value.every((x) => Number.isInteger(x) && x >= field.min && x <= field.max)
      );
  }
}

/** The attribute of a setting: its name in kebab case (`windowRule` → `window-rule`). */
export function attributeOf(setting: string): string {
  return setting.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * The note a widget shows when the text asked for a setting is not what it uses (clamped, rounded or unreadable),
 * e.g. "tokens clamped to 64 (asked 100000)"; empty when the text was used as given.
 */
export function settingNote(name: string, field: Field, text: string, used: unknown): string {
  if (field.kind === 'boolean' && text === '') return '';
  if (encodeField(field, used) === text) return '';
  const asked = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  const shown = encodeField(field, used);
  if (field.kind === 'number' && NUMBER.test(text) && Number.isFinite(Number(text))) {
    const x = Number(text);
    if (x < field.min || x > field.max) return `${name} clamped to ${shown} (asked ${asked})`;
    if (Number(shown) === x) return ''; // the same number written differently ("1.0", "01")
    return `${name} rounded to ${shown} (asked ${asked})`;
  }
  return `${name} “${asked}” is not a valid value; using ${shown === '' ? 'none' : shown}`;
}

/** `<namespace>.<setting>`: the query key of one setting of one widget. */
const queryKey = (namespace: string, setting: string): string => `${namespace}.${setting}`;

/**
 * The settings of widget `namespace` that the query string names, decoded. Settings the query does not mention are
 * absent (the widget keeps its attributes); a mentioned but unreadable one is its default.
 */
export function readState<S extends Schema>(schema: S, search: string, namespace: string): Partial<StateOf<S>> {
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(search);
  } catch {
    return {};
  }
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(schema)) {
    const text = params.get(queryKey(namespace, name));
    if (text !== null) out[name] = decodeField(field, text);
  }
  return out as Partial<StateOf<S>>;
}

/**
 * The query string with widget `namespace`'s settings replaced: a setting equal to its `baseline` (what the page's
 * attributes say) is left out, so a shared link carries only what the reader changed. Other keys are kept.
 */
export function writeState<S extends Schema>(
  schema: S,
  search: string,
  namespace: string,
  state: Partial<StateOf<S>>,
  baseline: Partial<StateOf<S>> = {},
): string {
  const params = new URLSearchParams(search);
  for (const [name, field] of Object.entries(schema)) {
    const key = queryKey(namespace, name);
    const value = (state as Record<string, unknown>)[name];
    if (value === undefined || !isValid(field, value)) {
      params.delete(key);
      continue;
    }
    const text = encodeField(field, value);
    const base = (baseline as Record<string, unknown>)[name];
    if (base !== undefined && encodeField(field, base) === text) params.delete(key);
    else params.set(key, text);
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** The namespace of a widget element in the URL: its id, else its tag name (give widgets ids when a page repeats one). */
export function namespaceOf(el: Element): string {
  return el.id && /^[A-Za-z0-9_-]{1,64}$/.test(el.id) ? el.id : el.localName;
}
