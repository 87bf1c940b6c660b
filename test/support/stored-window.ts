/**
 * Reads a rule's window as RedisStore stores it (field `w:<rule>` of a window hash), for tests that
 * check the raw state: binary (byte 1, start, end, used and held as little-endian doubles, alerts
 * fired as an unsigned 16-bit integer, then the fingerprint) or the text form older versions wrote.
 */
import type { RuleWindow } from '../../src/stores/memory/scope-state.js';

export function decodeStoredWindow(value: Buffer | null | undefined): RuleWindow | null {
  if (!value || value.length === 0) return null;
  if (value[0] === 1) {
    if (value.length < 35) return null;
    return {
      start: value.readDoubleLE(1),
      end: value.readDoubleLE(9),
      used: value.readDoubleLE(17),
      held: value.readDoubleLE(25),
      alerts: value.readUInt16LE(33),
      fingerprint: value.subarray(35).toString('latin1'),
    };
  }
  const m = /^(\S+) (-?\d+) (-?\d+) (\d+) (\d+) (\d+)$/.exec(value.toString('utf8'));
  if (!m) return null;
  return { fingerprint: m[1]!, start: Number(m[2]), end: Number(m[3]), used: Number(m[4]), held: Number(m[5]), alerts: Number(m[6]) };
}
