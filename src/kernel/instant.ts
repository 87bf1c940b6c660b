/**
 * Instants written as text, read the same on every machine: a date is a UTC day (month, year),
 * and a date-time must carry its UTC offset. `Date.parse` read a date-time without one
 * (`2026-12-01T10:00`), and text in no ISO form (`Dec 1 2026`), in the machine's own time zone, so
 * the same range named different instants on servers in different zones. Shared by the admin
 * functions' reads (`getUsageLog`, `getUsageHistory`, `exportUsage`), the ledger's (`query`,
 * `export`, `reconcile`) and the CLI's `--from` and `--to`.
 */

/**
 * A date (`2026`, `2026-05`, `2026-05-01`), or a date-time with its offset
 * (`2026-05-01T10:00:30.5+02:00`); the year as four digits or, as `Date#toISOString` writes years
 * outside 0-9999, six with a sign.
 */
const ISO = /^(\d{4}|[+-]\d{6})(?:-(\d{2})(?:-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}:?\d{2})?)?)?)?$/;

/** What an instant's text lacks: no ISO form, a date-time without an offset, a day, time or offset that cannot be. */
export type InstantProblem = 'form' | 'no offset' | 'impossible' | 'offset';

/** The forms `parseInstant` takes, as error messages name them. */
export const INSTANT_FORMS = 'an ISO date (2026, 2026-05, 2026-05-01: UTC) or an ISO date-time with its offset (2026-05-01T10:00Z, 2026-05-01T10:00-03:00)';

/** `text` as ms since the epoch, or why it is no instant (see the module's comment). */
export function parseInstant(text: string): { ms: number } | { problem: InstantProblem } {
  const m = ISO.exec(text);
  // -000000 is no year (ECMAScript refuses it: year 0 is +000000 or 0000).
  if (m === null || m[1] === '-000000') return { problem: 'form' };
  if (m[4] !== undefined && m[8] === undefined) return { problem: 'no offset' };
  const [year, month, day] = [Number(m[1]), Number(m[2] ?? 1), Number(m[3] ?? 1)];
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  const at = new Date(0);
  at.setUTCFullYear(year, month - 1, day); // not Date.UTC, which reads years 0-99 as 1900-1999
  at.setUTCHours(hour, minute, second, Number((m[7] ?? '').padEnd(3, '0').slice(0, 3)));
  // Date rolls an impossible day or time over (February 30 is March 2): it must come back as written.
  if (at.getUTCFullYear() !== year || at.getUTCMonth() !== month - 1 || at.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    return { problem: 'impossible' };
  }
  const offset = m[8] === undefined || /^z$/i.test(m[8]) ? undefined : /^([+-])(\d{2}):?(\d{2})$/.exec(m[8])!;
  if (offset !== undefined && (Number(offset[2]) > 23 || Number(offset[3]) > 59)) return { problem: 'offset' };
  const shift = offset === undefined ? 0 : (offset[1] === '-' ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3])) * 60_000;
  const ms = at.getTime() - shift;
  // Past a Date's range (+275760-09-13): no instant.
  return Number.isFinite(ms) ? { ms } : { problem: 'impossible' };
}
