// @vitest-environment jsdom
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AdminTokenPanel, createApiClient, TokenLimitsApiError, TokenWidget, type Fetcher } from '../../src/react/index.js';
import { json, usageJson } from './helpers.js';

/** A fetcher whose requests are accepted and never answered (nor aborted: it ignores its signal). */
function neverAnswers(): { fetcher: Fetcher; signals: AbortSignal[] } {
  const signals: AbortSignal[] = [];
  return {
    signals,
    fetcher: (_url, init) => {
      signals.push(init.signal!);
      return new Promise<Response>(() => undefined);
    },
  };
}

describe('a request the API never answers', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fails with code timeout after 30 s by default, aborting the request', async () => {
    vi.useFakeTimers();
    const api = neverAnswers();
    const client = createApiClient({ baseUrl: '/admin/api', fetcher: api.fetcher });
    const settled = client.meUsage().then(
      () => 'answered',
      (e: unknown) => e,
    );
    await vi.advanceTimersByTimeAsync(29_999);
    expect(api.signals[0]!.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = await settled;
    expect(error).toBeInstanceOf(TokenLimitsApiError);
    expect(error).toMatchObject({ code: 'timeout', status: 0, message: 'No answer from the server within 30000 ms' });
    expect(api.signals[0]!.aborted).toBe(true);
  });

  it('also when the headers came and the body stalls', async () => {
    const fetcher: Fetcher = () => Promise.resolve({ ok: true, status: 200, text: () => new Promise<string>(() => undefined) } as unknown as Response);
    const client = createApiClient({ baseUrl: '/admin/api', fetcher, timeoutMs: 50 });
    await expect(client.meUsage()).rejects.toMatchObject({ code: 'timeout' });
  });

  it('waits as long as it takes with timeoutMs 0; NaN and negatives take the default', async () => {
    vi.useFakeTimers();
    for (const [timeoutMs, fails] of [
      [0, false],
      [Number.NaN, true],
      [-5, true],
    ] as const) {
      const client = createApiClient({ baseUrl: '/admin/api', fetcher: neverAnswers().fetcher, timeoutMs });
      let outcome = 'pending';
      client.meUsage().catch((e: TokenLimitsApiError) => (outcome = e.code));
      await vi.advanceTimersByTimeAsync(30_000);
      expect(outcome).toBe(fails ? 'timeout' : 'pending');
    }
  });

  it('shows the widget its error in its locale with Retry, instead of loading for ever', async () => {
    let answer = false;
    const fetcher: Fetcher = () => (answer ? Promise.resolve(json(usageJson({ used: 10, limit: 100 }))) : new Promise<Response>(() => undefined));
    const { rerender } = render(<TokenWidget fetcher={fetcher} refreshIntervalMs={0} requestTimeoutMs={50} />);
    expect(await screen.findByText('The server did not answer in time')).toBeTruthy();
    rerender(<TokenWidget fetcher={fetcher} refreshIntervalMs={0} requestTimeoutMs={50} locale="pt-BR" refreshKey={1} />);
    expect(await screen.findByText('O servidor não respondeu a tempo')).toBeTruthy();
    answer = true;
    await userEvent.click(screen.getByRole('button', { name: 'Tentar novamente' }));
    expect(await screen.findByRole('progressbar')).toBeTruthy();
  });

  it('lets an admin dialog go: the action fails in the dialog, which can be closed again', async () => {
    const writes: string[] = [];
    const fetcher: Fetcher = (url, init) => {
      const path = new URL(url, 'http://localhost').pathname;
      if (init.method === 'POST') {
        writes.push(path);
        return new Promise<Response>(() => undefined);
      }
      if (path.endsWith('/users')) return Promise.resolve(json({ users: [usageJson({ used: 1, limit: 10, userId: 'ana' })], nextCursor: null }));
      if (path.endsWith('/stats')) return Promise.resolve(json({ totalTokens: 1, totalCostUsd: 0, activeUsers: 1, users: 1 }));
      if (path.endsWith('/history')) return Promise.resolve(json({ granularity: 'day', from: '2026-05-01T00:00:00.000Z', to: '2026-05-20T00:00:00.000Z', points: [] }));
      return Promise.resolve(json({ records: [] }));
    };
    render(<AdminTokenPanel fetcher={fetcher} refreshIntervalMs={0} logLimit={0} requestTimeoutMs={100} />);
    const table = await screen.findByRole('table', { name: /^Users/ });
    await userEvent.click(within(table).getByRole('button', { name: 'Disable' }));
    const dialog = screen.getByRole('alertdialog', { name: 'Disable' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Disable' }));
    await waitFor(() => expect(writes).toEqual(['/admin/api/users/ana/disable']));
    await waitFor(() => expect(within(dialog).getByText(/The server did not answer in time/)).toBeTruthy());
    expect(within(dialog).getByRole('button', { name: 'Cancel' }).getAttribute('aria-disabled')).not.toBe('true');
    await userEvent.keyboard('{Escape}');
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
  });
});
