/**
 * P3-P5 of reliability.md §4 through the wrapped SDK clients (OpenAI chat and responses, Anthropic
 * messages, both Google SDKs) against the provider emulator, with quotas in a real Redis:
 * provider errors and timeouts (release vs estimated charge, as the README documents), aborted and
 * broken streams (never zero when tokens streamed; explicit zeros honoured; Anthropic's cumulative
 * deltas not summed), malformed usage numbers (an estimate is committed, never NaN or negative).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTokenLimiter,
  InvalidArgumentError,
  RedisStore,
  withTokenLimits,
  type TokenLimiter,
  type UsageRecord,
} from '../../src/index.js';
import { expectedUsage, rawJson, startEmulator, type Emulator, type EmulatorBehavior } from '../../src/testing/index.js';
import { startRedisServer, startTcpProxy, uniquePrefix, waitFor, type RedisServer } from '../support/index.js';
import { drained } from './support/driver.js';
import { recordFigures } from './support/figures.js';
import { PROVIDER_CALLS, type CallOptions, type ProviderCall } from './support/providers.js';
import { rawUserState } from './support/state.js';

let server: RedisServer;
let emulator: Emulator;
let limiter: TokenLimiter;
let prefix: string;
let userSeq = 0;
beforeAll(async () => {
  server = await startRedisServer();
  emulator = await startEmulator();
  prefix = uniquePrefix('prov').replace(/:$/, '');
  limiter = createTokenLimiter({ store: new RedisStore({ client: server.client(), prefix }), defaultLimits: [{ id: 'main', tokens: 1e9, period: 'month' }] });
  await limiter.warmup();
});
afterAll(async () => {
  await limiter?.close();
  await emulator?.close();
  await server?.stop();
});

function wrapped(p: ProviderCall, options: CallOptions = {}) {
  const user = `user-${(userSeq += 1)}`;
  return { user, client: withTokenLimits(p.make(emulator, options), user, { limiter }) };
}

/** The user's usage records once the call has settled (streams settle after the caller's last read). */
async function recordsOf(user: string, expected: number): Promise<UsageRecord[]> {
  return waitFor(
    async () => {
      const log = await limiter.admin.getUsageLog({ userId: user, limit: 10 });
      return log.length >= expected ? log : undefined;
    },
    { what: `${expected} usage record(s) of ${user}`, timeoutMs: 5000 },
  );
}

/** Raw Redis state of the user: counters must be plain non-negative integers, and nothing held. */
async function settledState(user: string) {
  return rawUserState(server.client(), prefix, user);
}

const timeline: Array<{ provider: string; fault: string; outcome: string }> = [];

describe('P3: provider errors and timeouts through the wrappers', () => {
  const TIMEOUT_MS = 300;
  /** The SDK's own timer fires at TIMEOUT_MS; ε covers a loaded 2-core machine. */
  const EPSILON_MS = 700;

  for (const p of PROVIDER_CALLS) {
    describe(p.name, () => {
      for (const status of [400, 401, 429, 500, 503]) {
        it(`HTTP ${status} (after the SDK's retries): the hold is released, nothing charged`, async () => {
          const { user, client } = wrapped(p);
          emulator.clearRequests();
          emulator.enqueue({ status }, { times: 10 });
          const error = await p.call(client, emulator, {}).catch((e: unknown) => e);
          const attempts = emulator.requests.length;
          emulator.reset();
          expect(error).toBeInstanceOf(Error);
          expect((error as { status?: number }).status ?? (error as Error).message).toSatisfy((s: unknown) => s === status || String(s).includes(String(status)));
          expect(attempts).toBe(status === 400 || status === 401 ? 1 : p.sdkRetries + 1);
          expect(await limiter.admin.getUsageLog({ userId: user })).toEqual([]);
          expect(await settledState(user)).toMatchObject({ used: 0, held: 0, holds: 0 });
          timeline.push({ provider: p.name, fault: `HTTP ${status}`, outcome: 'released' });
        });
      }

      if (p.sdkRetries > 0) {
        it('429, 429, then 200: one reservation, charged once with the exact usage', async () => {
          const { user, client } = wrapped(p);
          emulator.clearRequests();
          emulator.enqueue({ status: 429 }, { times: 2 });
          await p.call(client, emulator, {});
          expect(emulator.requests).toHaveLength(3);
          const [record] = await recordsOf(user, 1);
          const want = expectedUsage(emulator.requests[2]!);
          expect(record).toMatchObject({ estimated: false, inputTokens: want.inputTokens, outputTokens: want.outputTokens });
          expect(await settledState(user)).toMatchObject({ used: want.inputTokens + want.outputTokens, held: 0 });
        });
      }

      const slow: Array<[string, EmulatorBehavior]> = [
        ['a timeout before any byte (delay 2 s)', { delayMs: 2000 }],
        ['a provider that never answers (hang)', { hang: true }],
        ['a connection dropped without an answer', { dropConnection: true }],
      ];
      for (const [label, behavior] of slow) {
        it(`${label}: the call fails within the SDK timeout + ε, the input estimate is charged (estimated, status error or aborted)`, async () => {
          const { user, client } = wrapped(p, { timeoutMs: TIMEOUT_MS, noRetries: true });
          emulator.enqueue(behavior, { times: 10 });
          const started = Date.now();
          const error = await p.call(client, emulator, { timeoutMs: TIMEOUT_MS, noRetries: true }).catch((e: unknown) => e);
          const elapsed = Date.now() - started;
          emulator.reset();
          expect(error).toBeInstanceOf(Error);
          expect(elapsed).toBeLessThan(TIMEOUT_MS + EPSILON_MS);
          const [record] = await recordsOf(user, 1);
          // The Google SDKs implement their timeout as an abort: status 'aborted' rather than 'error';
          // an aborted call of a reasoning model is charged its output hold (thinking may be billed).
          expect(['error', 'aborted']).toContain(record!.status);
          const output = record!.status === 'aborted' ? p.abortedOutputCharge : 0;
          expect(record).toMatchObject({ estimated: true, outputTokens: output });
          expect(record!.inputTokens).toBeGreaterThan(0);
          expect(await settledState(user)).toMatchObject({ used: record!.totalTokens, held: 0, holds: 0 });
          timeline.push({ provider: p.name, fault: label, outcome: `estimate ${record!.totalTokens} tokens in ${elapsed} ms` });
        });
      }
    });
  }
});

describe('P4: streams that end early, for every provider', () => {
  for (const p of PROVIDER_CALLS) {
    describe(p.name, () => {
      it('the caller aborts after 2 text chunks: input estimate + received output, estimated, status aborted, never zero', async () => {
        const { user, client } = wrapped(p);
        emulator.enqueue({ chunkDelayMs: 30 });
        const k = p.leadingEvents + 2;
        const error = await p.stream(client, emulator, {}, k).catch((e: unknown) => e);
        expect(error === k || error instanceof Error).toBe(true); // some SDKs end quietly, some throw an abort error
        const [record] = await recordsOf(user, 1);
        expect(record).toMatchObject({ estimated: true, status: 'aborted' });
        expect(record!.inputTokens).toBeGreaterThan(0);
        expect(record!.outputTokens).toBeGreaterThan(0);
        expect(await settledState(user)).toMatchObject({ used: record!.totalTokens, held: 0, holds: 0 });
        timeline.push({ provider: p.name, fault: 'stream aborted by the caller after 2 chunks', outcome: `${record!.inputTokens}+${record!.outputTokens} estimated` });
      });

      it('the connection breaks after 3 text chunks: input estimate + received output, estimated, status aborted', async () => {
        const { user, client } = wrapped(p);
        emulator.enqueue({ disconnectAfterChunks: p.leadingEvents + 3 });
        await p.stream(client, emulator, {}).catch(() => {});
        const [record] = await recordsOf(user, 1);
        expect(record).toMatchObject({ estimated: true, status: 'aborted' });
        expect(record!.inputTokens).toBeGreaterThan(0);
        expect(record!.outputTokens).toBeGreaterThan(0);
        expect(await settledState(user)).toMatchObject({ used: record!.totalTokens, held: 0 });
      });

      it('the provider omits usage from the stream: estimated from the text received, never zero', async () => {
        const { user, client } = wrapped(p);
        emulator.enqueue({ omitUsage: true });
        await p.stream(client, emulator, {});
        const [record] = await recordsOf(user, 1);
        expect(record).toMatchObject({ estimated: true });
        expect(record!.outputTokens).toBeGreaterThan(0);
        expect(await settledState(user)).toMatchObject({ used: record!.totalTokens, held: 0 });
      });

      it('the provider reports explicit zeros: honoured (not replaced by an estimate)', async () => {
        const { user, client } = wrapped(p);
        emulator.enqueue({ usage: p.explicitZero });
        await p.stream(client, emulator, {});
        const [record] = await recordsOf(user, 1);
        expect(record).toMatchObject({ estimated: false, inputTokens: 0, outputTokens: 0 });
        expect(await settledState(user)).toMatchObject({ used: 0, held: 0 });
      });
    });
  }

  it('anthropic: several cumulative message_delta events are not summed', async () => {
    const p = PROVIDER_CALLS.find((x) => x.provider === 'anthropic')!;
    const { user, client } = wrapped(p);
    emulator.clearRequests();
    emulator.enqueue({ messageDeltas: 3 });
    await p.stream(client, emulator, {});
    const [record] = await recordsOf(user, 1);
    const want = expectedUsage(emulator.requests[0]!);
    expect(record).toMatchObject({ estimated: false, inputTokens: want.inputTokens, outputTokens: want.outputTokens });
  });
});

describe('P5: malformed usage numbers from the provider', () => {
  const values: Array<[string, unknown]> = [
    ['-1', -1],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['1e309', rawJson('1e309')],
    ['"0x10"', '0x10'],
    ['" 12"', ' 12'],
    ['1.5', 1.5],
    ['2^53', 2 ** 53],
    ['"100"', '100'],
    ['null', null],
    ['missing', undefined],
  ];
  for (const p of PROVIDER_CALLS) {
    it(`${p.name}: for each of ${values.map((v) => v[0]).join(', ')} (non-stream and stream), an estimate is committed; counters stay non-negative integers`, async () => {
      const users: string[] = [];
      for (const [, value] of values) {
        for (const mode of ['call', 'stream'] as const) {
          const { user, client } = wrapped(p);
          users.push(user);
          emulator.enqueue({ usage: p.malformedInput(value) });
          // A bare NaN or Infinity is not JSON: the SDK itself throws (as it would unwrapped); the
          // wrapper still settles the call with an estimate.
          if (mode === 'call') await p.call(client, emulator, {}).catch((e: unknown) => expect(e).toBeInstanceOf(SyntaxError));
          else await p.stream(client, emulator, {}).catch((e: unknown) => expect(e).toBeInstanceOf(Error));
          const [record] = await recordsOf(user, 1);
          expect(record, `${p.name} ${mode} ${String(value)}`).toMatchObject({ estimated: true });
          expect(Number.isSafeInteger(record!.totalTokens) && record!.totalTokens > 0).toBe(true);
          const state = await settledState(user);
          expect(Number.isSafeInteger(state.used) && state.used > 0, `stored used ${state.used}`).toBe(true);
          expect(state).toMatchObject({ used: record!.totalTokens, held: 0, holds: 0 });
        }
      }
      timeline.push({ provider: p.name, fault: `malformed usage ×${users.length}`, outcome: 'all estimated, integer counters' });
    });
  }

  it('the engine refuses malformed usage with InvalidArgumentError and writes nothing (the hold stays until released or its lease ends)', async () => {
    const user = `engine-${(userSeq += 1)}`;
    const r = await limiter.reserve(user, { tokens: 100 });
    const before = await settledState(user);
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, 1.5, 2 ** 53, '100', null, undefined]) {
      await expect(limiter.commit(r, { inputTokens: bad as number, outputTokens: 0 }), String(bad)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(limiter.commit(r, { inputTokens: 1, outputTokens: bad as number }), String(bad)).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    expect(await settledState(user)).toEqual(before);
    expect(before).toMatchObject({ used: 0, held: 100, holds: 1 });
    await limiter.commit(r, { inputTokens: 60, outputTokens: 0 });
    expect(await settledState(user)).toMatchObject({ used: 60, held: 0, holds: 0 });
  });
});

describe('wrapped calls while Redis is partitioned (blackhole), storeTimeoutMs 300', () => {
  const STORE_TIMEOUT_MS = 300;
  const EPSILON_MS = 500;
  for (const policy of ['deny', 'allow'] as const) {
    it(`${policy}: ${policy === 'deny' ? 'refused within the timeout + ε, the provider is never called' : 'answered within 2 × the timeout + ε, then charged exactly once when the store is back'}`, async () => {
      const proxy = await startTcpProxy({ targetPort: server.port });
      const client = new Redis(proxy.url, { commandTimeout: STORE_TIMEOUT_MS, maxRetriesPerRequest: 2 });
      client.on('error', () => {});
      const partitioned = createTokenLimiter({
        store: new RedisStore({ client, prefix }),
        defaultLimits: [{ id: 'main', tokens: 1e9, period: 'month' }],
        storeTimeoutMs: STORE_TIMEOUT_MS,
        onStoreError: policy,
      });
      try {
        await partitioned.warmup();
        for (const p of PROVIDER_CALLS) {
          const user = `part-${policy}-${(userSeq += 1)}`;
          const wrappedClient = withTokenLimits(p.make(emulator, {}), user, { limiter: partitioned });
          emulator.clearRequests();
          proxy.blackhole(true);
          const started = Date.now();
          const outcome = await p.call(wrappedClient, emulator, {}).then(
            () => 'answered',
            (e: unknown) => e,
          );
          const elapsed = Date.now() - started;
          proxy.blackhole(false);
          if (policy === 'deny') {
            expect(outcome, p.name).toBeInstanceOf(Error);
            expect(String((outcome as Error).message)).toMatch(/quota store/i);
            expect(elapsed).toBeLessThan(STORE_TIMEOUT_MS + EPSILON_MS);
            expect(emulator.requests).toHaveLength(0);
            expect(await settledState(user)).toMatchObject({ used: 0, held: 0 });
          } else {
            expect(outcome, p.name).toBe('answered');
            expect(elapsed).toBeLessThan(2 * STORE_TIMEOUT_MS + EPSILON_MS);
            expect(await drained(partitioned)).toBe(0);
            const [record] = await recordsOf(user, 1);
            const want = expectedUsage(emulator.requests[0]!);
            expect(record).toMatchObject({ inputTokens: want.inputTokens, outputTokens: want.outputTokens });
            expect(await settledState(user)).toMatchObject({ used: want.inputTokens + want.outputTokens, held: 0, holds: 0 });
          }
          timeline.push({ provider: p.name, fault: `store partitioned (${policy})`, outcome: `${policy === 'deny' ? 'refused' : 'answered'} in ${elapsed} ms` });
        }
      } finally {
        await partitioned.close();
        client.disconnect();
        await proxy.close();
      }
    });
  }
});

describe('figures', () => {
  it('records the provider fault outcomes', () => {
    const byFault = new Map<string, string[]>();
    for (const t of timeline) byFault.set(t.fault, [...(byFault.get(t.fault) ?? []), `${t.provider}: ${t.outcome}`]);
    recordFigures({
      scenario: 'P3-P5',
      name: `wrapped calls of ${PROVIDER_CALLS.length} provider APIs against the emulator, quotas in Redis`,
      criterion: '4xx/5xx → release; timeout after send → estimated charge, never silently 0; aborted streams never 0; explicit 0 honoured; malformed → estimate',
      measured: {
        'provider calls': PROVIDER_CALLS.map((p) => p.name).join(', '),
        'HTTP errors released': timeline.filter((t) => t.outcome === 'released').length,
        'timeouts/hangs/drops charged an estimate': timeline.filter((t) => t.outcome.startsWith('estimate')).length,
        'aborted streams charged > 0': timeline.filter((t) => t.fault.startsWith('stream aborted')).length,
        'store partitioned, deny: refused before the provider (max ms)': Math.max(...timeline.filter((t) => t.fault === 'store partitioned (deny)').map((t) => Number(/in (\d+) ms/.exec(t.outcome)?.[1] ?? 0))),
        'store partitioned, allow: answered, charged once after (max ms)': Math.max(...timeline.filter((t) => t.fault === 'store partitioned (allow)').map((t) => Number(/in (\d+) ms/.exec(t.outcome)?.[1] ?? 0))),
        'phantom held after every case (tokens)': 0,
      },
    });
    expect(timeline.length).toBeGreaterThan(0);
  });
});
