import { afterEach, describe, expect, it, vi } from 'vitest';
import { QuotaStoreError } from '../../src/kernel/errors.js';
import { storeCall } from '../../src/engine/store-call.js';

const never = () => new Promise<never>(() => {});

describe('storeCall deadlines', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('an operation that never answers fails with a QuotaStoreError at its deadline, not before', async () => {
    const started = performance.now();
    const error = await storeCall('reserve', 60, never).catch((e: unknown) => e);
    const waited = performance.now() - started;
    expect(error).toBeInstanceOf(QuotaStoreError);
    expect((error as Error).message).toBe('The quota store did not answer reserve within 60 ms');
    expect(waited).toBeGreaterThanOrEqual(59);
  });

  it('operations that answer in time are untouched by the deadlines of later ones', async () => {
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => storeCall('commit', 40, async () => i)));
    expect(results[999]).toBe(999);
    // A hanging operation started after them still expires on time.
    await expect(storeCall('commit', 40, never)).rejects.toThrow('did not answer commit within 40 ms');
  });

  it('deadlines that share a length each expire at their own time', async () => {
    const started = performance.now();
    const at: number[] = [];
    const calls: Promise<void>[] = [];
    for (const delay of [0, 30, 60]) {
      await new Promise((r) => setTimeout(r, delay === 0 ? 0 : 30));
      const begun = performance.now() - started;
      calls.push(
        storeCall('reserve', 80, never).then(
          () => {},
          () => {
            at.push(performance.now() - started - begun);
          },
        ),
      );
    }
    // An answer in between does not disturb them.
    await expect(storeCall('reserve', 80, async () => 'ok')).resolves.toBe('ok');
    await Promise.all(calls);
    expect(at).toHaveLength(3);
    for (const waited of at) expect(waited).toBeGreaterThanOrEqual(79);
  });

  it('under fake timers, advancing time expires a hanging operation', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const failed = storeCall('reserve', 5_000, never).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await failed).toBeInstanceOf(QuotaStoreError);
  });

  it('a deadline timer left behind by fake timers does not stop later deadlines', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    // Answers at once: its deadline is dropped, but the shared timer, a fake one, stays set.
    await storeCall('release', 30, async () => 'done');
    vi.useRealTimers();
    await new Promise((r) => setTimeout(r, 250));
    await expect(storeCall('release', 30, never)).rejects.toThrow('did not answer release within 30 ms');
  });

  it('a failing operation is reported without its secrets, and its deadline is dropped', async () => {
    const failure = Object.assign(new Error('NOAUTH Authentication required'), { command: { args: ['AUTH', 'secret'] } });
    const error = (await storeCall('reserve', 50, () => Promise.reject(failure)).catch((e: unknown) => e)) as QuotaStoreError;
    expect(error).toBeInstanceOf(QuotaStoreError);
    expect(error.message).toContain('NOAUTH');
    expect(JSON.stringify(error.cause)).not.toContain('secret');
  });
});
