import { userTag } from '../../../src/stores/redis/keys.js';

/** CRC16-XMODEM, the hash of Redis Cluster key slots (cluster spec, appendix A). */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i += 1) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The slot of a user's keys (they all carry the user's hash tag). */
export function userSlot(userId: string): number {
  return crc16(Buffer.from(userTag(userId))) % 16384;
}

/** `count` user ids whose keys land in the same slot as `userId`'s. */
export function usersInSameSlot(userId: string, count: number, stem = 'slotmate'): string[] {
  const slot = userSlot(userId);
  const out: string[] = [];
  for (let n = 0; out.length < count; n += 1) {
    const candidate = `${stem}-${n}`;
    if (userSlot(candidate) === slot) out.push(candidate);
  }
  return out;
}
