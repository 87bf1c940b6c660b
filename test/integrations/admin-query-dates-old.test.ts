import { afterAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, MemoryStore } from '../../src/index.js';
import { createAdminHandler } from '../../src/integrations/http/index.js';

// The admin functions take dates before 1970 (history imported into the ledger keeps its dates),
// but the HTTP API's query dates refused two spellings of them: a date of the years 0000-0099
// (Date.UTC read 0050 as 1950, so the date did not come back as written: a 400), and negative
// milliseconds since the epoch.

const limiter = createTokenLimiter({ store: new MemoryStore() });
const handler = createAdminHandler({ limiter, authorize: () => ({ role: 'admin' }) });
afterAll(() => limiter.close());

const get = (path: string) => handler(new Request(`http://api.test${path}`));

describe('query dates before 1970 on the admin API', () => {
  it('a date of the years 0000-0099 is that date, not one of the 1900s', async () => {
    const res = await get('/history?from=0050-01-01&to=0050-01-31&granularity=day');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ from: '0050-01-01T00:00:00.000Z', to: '0050-01-31T00:00:00.000Z', points: [] });
    // Impossible days stay refused, in every year.
    for (const day of ['0050-02-30', '0000-13-01', '1999-02-29']) {
      const bad = await get(`/history?from=${day}&to=2026-01-01`);
      expect(bad.status, day).toBe(400);
      expect(await bad.json(), day).toMatchObject({ code: 'invalid_argument', field: 'from' });
    }
    expect((await get('/history?from=0004-02-29&to=0004-03-01')).status).toBe(200);
  });

  it('negative milliseconds are instants before 1970; a four-digit number is still refused as a year', async () => {
    const res = await get('/log?since=-86400000&until=-1');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ records: [] });
    const history = await get('/history?from=-86400000&to=0&granularity=hour');
    expect(history.status).toBe(200);
    expect(await history.json()).toMatchObject({ from: '1969-12-31T00:00:00.000Z', to: '1970-01-01T00:00:00.000Z' });
    expect((await get('/log?since=2026')).status).toBe(400);
    expect((await get('/log?since=--5')).status).toBe(400);
    expect((await get('/log?since=-123&until=-1')).status).toBe(200);
  });
});
