import { expect, it } from 'vitest';
import { createTokenLimiter, MemoryStore, type QuotaStore, type Reservation } from '../../src/index.js';

// A release or renewal follows a user who moved since the call was reserved (the move carried the
// hold), but only to a home this process knows: a process that never met the user makes one store
// call, not a second one at a guessed home.

function countingReleases(inner: QuotaStore): { store: QuotaStore; homes: Array<string | null> } {
  const homes: Array<string | null> = [];
  const hotPath = inner.hotPath;
  const store: QuotaStore = {
    kind: inner.kind,
    hotPath: {
      reserve: hotPath.reserve.bind(hotPath),
      commit: hotPath.commit.bind(hotPath),
      renew: hotPath.renew.bind(hotPath),
      release: (c) => {
        homes.push(c.home);
        return hotPath.release(c);
      },
    },
    admin: inner.admin,
    maintenance: inner.maintenance,
  };
  return { store, homes };
}

it('a member call released by a process that never met the user is released once, where it was reserved', async () => {
  const inner = new MemoryStore();
  const reserving = createTokenLimiter({ store: inner, defaultLimits: [{ id: 'm', tokens: 1000, period: 'month' }] });
  await reserving.admin.setAccount('u', 'acme');
  const reservation = JSON.parse(JSON.stringify(await reserving.reserve('u', { tokens: 10 }))) as Reservation;
  const { store, homes } = countingReleases(inner);
  const other = createTokenLimiter({ store, defaultLimits: [{ id: 'm', tokens: 1000, period: 'month' }] });
  await other.release(reservation);
  expect(homes).toEqual(['acme']);
  expect(await other.admin.getUsage('u')).toMatchObject({ reserved: 0 });
});
