/**
 * Text as the ledger's PostgreSQL columns store it. PostgreSQL text cannot hold U+0000, which a
 * user or account id may contain (any well-formed string is an id), as may a record's labels (the
 * model, endpoint and request id are often the provider's own words): one such value made the
 * insert of its whole batch fail on every try, and the ledger stopped there for everyone. Such a
 * text is stored as ENCODED followed by its UTF-8 in base64url, and so is any text that starts
 * with ENCODED, so that every text reads back exactly (two ids never share a stored form). Every
 * other text, all of them in practice, is stored as it is.
 */
const ENCODED = '\uFFFF';

/** `text` as stored (see above). */
export function storable(text: string): string {
  return text.includes('\u0000') || text.startsWith(ENCODED) ? ENCODED + Buffer.from(text, 'utf8').toString('base64url') : text;
}

/** A stored text as it was given; null stays null. */
export function readable(value: unknown): string;
export function readable(value: unknown, nullable: true): string | null;
export function readable(value: unknown, nullable?: true): string | null {
  if (value === null && nullable) return null;
  const text = String(value);
  return text.startsWith(ENCODED) ? Buffer.from(text.slice(ENCODED.length), 'base64url').toString('utf8') : text;
}
