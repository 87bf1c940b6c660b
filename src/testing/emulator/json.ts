/**
 * JSON serialization that can also write values JSON cannot express (`1e309`, `NaN`, any raw
 * text), so fault tests can send malformed usage numbers, and the merge of usage overrides.
 */

import type { RawJson, UsageOverride, UsageOverrideValue } from './types.js';

export type { RawJson };

const RAW = Symbol('token-limits.emulator.rawJson');


/**
 * Mark `text` to be written verbatim into a response body, e.g. `rawJson('1e309')` (parsed back as
 * `Infinity`) or `rawJson('12.50')`. It must be a single line.
 * @throws TypeError if `text` is not a string; RangeError if it is empty or contains a line break
 */
export function rawJson(text: string): RawJson {
  if (typeof text !== 'string') throw new TypeError(`rawJson: expected a string, got ${typeof text}`);
  if (text.length === 0 || /[\r\n]/.test(text)) {
    throw new RangeError('rawJson: the text must be non-empty and on one line');
  }
  return Object.freeze({ [RAW]: text }) as unknown as RawJson;
}

/** Whether `value` was made by {@link rawJson}. */
export function isRawJson(value: unknown): value is RawJson {
  return typeof value === 'object' && value !== null && RAW in value;
}

let nonceCounter = 0;

/**
 * `JSON.stringify` on one line, except that {@link RawJson} values are written verbatim, `NaN` as
 * `NaN` and `±Infinity` as `±1e309`.
 */
export function toJson(value: unknown): string {
  const raws: string[] = [];
  const nonce = `\u0000emu${(nonceCounter++).toString(36)}:`;
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (isRawJson(v)) {
      raws.push((v as unknown as { [RAW]: string })[RAW]);
      return `${nonce}${raws.length - 1}`;
    }
    if (typeof v === 'number' && !Number.isFinite(v)) {
      raws.push(Number.isNaN(v) ? 'NaN' : v > 0 ? '1e309' : '-1e309');
      return `${nonce}${raws.length - 1}`;
    }
    return v;
  });
  if (text === undefined) return 'null';
  if (raws.length === 0) return text;
  // JSON.stringify escapes U+0000 as \u0000, so the quoted placeholder is unambiguous.
  const quoted = JSON.stringify(nonce).slice(1, -1);
  return text.replace(new RegExp(`"${escapeRegExp(quoted)}(\\d+)"`, 'g'), (_m, i: string) => raws[Number(i)] ?? 'null');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function isPlainOverride(value: UsageOverrideValue): value is UsageOverride {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isRawJson(value);
}

/**
 * A copy of `base` with `override` merged in: nested plain objects merge, `undefined` deletes the
 * field, anything else replaces it.
 */
export function mergeUsage(base: Record<string, unknown>, override: UsageOverride | undefined): Record<string, unknown> {
  if (override === undefined) return base;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) {
      delete out[key];
    } else if (isPlainOverride(value)) {
      const current = out[key];
      const nested = typeof current === 'object' && current !== null && !Array.isArray(current) ? (current as Record<string, unknown>) : {};
      out[key] = mergeUsage(nested, value);
    } else {
      out[key] = value;
    }
  }
  return out;
}
