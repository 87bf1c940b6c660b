/**
 * Redis Cluster slots, for the ledger streams: a record is appended, in the commit script, to a
 * stream in the slot of the user's keys (one stream per slot, so that a drainer polls a bounded set
 * of keys however many users there are). The stream's key needs a hash tag of that slot: the first
 * string of `l<base 36 counter>` that hashes there.
 */

/** CRC16-CCITT (XMODEM), the Redis Cluster key hash. */
const CRC_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i += 1) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit += 1) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

export const SLOT_COUNT = 16_384;

/** The Cluster slot of a hash tag (the tag's bytes: ASCII here, as every tag the store builds). */
export function slotOf(tag: string): number {
  let crc = 0;
  for (let i = 0; i < tag.length; i += 1) crc = ((crc << 8) & 0xffff) ^ CRC_TABLE[((crc >> 8) ^ tag.charCodeAt(i)) & 0xff]!;
  return crc % SLOT_COUNT;
}

let slotTags: string[] | undefined;

/** A short hash tag in `slot` (`l` + base 36; no user or account tag starts with `l`). */
export function slotTag(slot: number): string {
  if (slotTags === undefined) {
    const tags = new Array<string>(SLOT_COUNT);
    let missing = SLOT_COUNT;
    for (let i = 0; missing > 0; i += 1) {
      const tag = `l${i.toString(36)}`;
      const s = slotOf(tag);
      if (tags[s] === undefined) {
        tags[s] = tag;
        missing -= 1;
      }
    }
    slotTags = tags;
  }
  return slotTags[slot]!;
}
