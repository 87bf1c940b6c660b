/**
 * How a user id is written as one path segment of the admin API (`/users/:id/...`).
 *
 * `encodeURIComponent` covers every id but two: it leaves `.` alone, and the URL standard removes
 * the segments `.` and `..` (and their `%2E` spellings) from every path before a request is sent,
 * so `/users/../usage` leaves the browser as `/usage`. Those two ids are written `$.` and `$..`
 * instead: `encodeURIComponent` always writes a `$` of an id as `%24`, so no other id has these
 * spellings, and the URL standard leaves them as they are.
 */
// Maps, not object literals: an id such as `__proto__` must not find Object.prototype.
const DOT_IDS: ReadonlyMap<string, string> = new Map([
  ['.', '$.'],
  ['..', '$..'],
]);
const DOT_SEGMENTS: ReadonlyMap<string, string> = new Map([...DOT_IDS].map(([id, segment]) => [segment, id]));

/** The path segment of a user id: `encodeURIComponent(id)`, and `$.` / `$..` for `.` / `..`. */
export function encodeUserIdSegment(id: string): string {
  return DOT_IDS.get(id) ?? encodeURIComponent(id);
}

/**
 * The user id of a path segment, decoded once: `$.` and `$..` are the ids `.` and `..`; anything else
 * is percent-decoded (a `.` or `%2E` that reached the server undecoded and unnormalised counts too).
 * Throws `URIError` for malformed percent-encoding.
 */
export function decodeUserIdSegment(segment: string): string {
  return DOT_SEGMENTS.get(segment) ?? decodeURIComponent(segment);
}
