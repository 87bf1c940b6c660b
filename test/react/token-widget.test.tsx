// @vitest-environment jsdom
import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { TokenWidget, type Fetcher } from '../../src/react/index.js';
import { charge, json, NOW, startAdminServer, usageJson, type AdminServer } from './helpers.js';

const NBSP = /\u00a0/g;
const text = (el: Element) => (el.textContent ?? '').replace(NBSP, ' ');

describe('<TokenWidget /> against the real admin API', () => {
  let server: AdminServer;
  beforeAll(async () => {
    server = await startAdminServer();
  });
  afterAll(() => server.close());
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'], now: NOW });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('shows loading, then the used / limit figures, the progress bar values and the renewal', async () => {
    await charge(server.limiter, 'alice', { input: 1000, output: 500 });
    const { container } = render(<TokenWidget baseUrl={server.baseUrl} fetcher={server.as('alice')} refreshIntervalMs={0} />);
    expect(screen.getByRole('status')).toHaveProperty('textContent', 'Loading…');
    expect(container.querySelector('.tl-widget')?.getAttribute('aria-busy')).toBe('true');

    const bar = await screen.findByRole('progressbar', { name: 'Token usage' });
    // In whole percent, as "2% used" says; the text gives the figures.
    expect(bar.getAttribute('aria-valuenow')).toBe('2');
    expect(bar.getAttribute('aria-valuemin')).toBe('0');
    expect(bar.getAttribute('aria-valuemax')).toBe('100');
    expect(bar.getAttribute('aria-valuetext')).toBe('1,500 of 100,000 tokens used');
    const widget = container.querySelector('.tl-widget')!;
    expect(widget.getAttribute('data-state')).toBe('ok');
    expect(widget.getAttribute('aria-busy')).toBe('false');
    expect(screen.getByRole('heading', { name: 'AI usage' })).toBeTruthy();
    expect(text(widget.querySelector('.tl-widget__figures')!)).toBe('1,500 / 100,000 tokens per month');
    expect(text(widget.querySelector('.tl-widget__percent')!)).toBe('2% used');
    expect(text(widget.querySelector('.tl-widget__remaining')!)).toBe('98,500 tokens left');
    // 20 May 12:00 UTC -> 1 June 00:00 UTC is 11.5 days: "in 12 days".
    expect(text(widget.querySelector('.tl-widget__renews')!)).toBe('Renews in 12 days (Jun 1, 2026, 12:00 AM UTC)');
    expect(widget.querySelector('time')?.getAttribute('dateTime')).toBe('2026-06-01T00:00:00.000Z');
    expect(widget.querySelector('[role="alert"]')).toBeNull();
  });

  it('formats numbers and dates for pt-BR, with "renova em N dias" pluralised', async () => {
    await charge(server.limiter, 'bruna', { input: 1200, output: 300 });
    const { container, rerender } = render(<TokenWidget baseUrl={server.baseUrl} fetcher={server.as('bruna')} locale="pt-BR" refreshIntervalMs={0} />);
    const bar = await screen.findByRole('progressbar', { name: 'Uso de tokens' });
    expect(bar.getAttribute('aria-valuetext')).toBe('1.500 de 100.000 tokens usados');
    const widget = container.querySelector('.tl-widget')!;
    expect(screen.getByRole('heading', { name: 'Uso de IA' })).toBeTruthy();
    expect(text(widget.querySelector('.tl-widget__used')!)).toBe('1.500 / 100.000 tokens');
    expect(text(widget.querySelector('.tl-widget__period')!)).toBe('por mês');
    expect(text(widget.querySelector('.tl-widget__remaining')!)).toBe('98.500 tokens restantes');
    expect(text(widget.querySelector('.tl-widget__renews')!)).toBe('Renova em 12 dias (1 de jun. de 2026, 00:00 UTC)');

    // One day left: singular; under a day: hours.
    vi.setSystemTime(new Date('2026-05-30T20:00:00Z'));
    rerender(<TokenWidget baseUrl={server.baseUrl} fetcher={server.as('bruna')} locale="pt-BR" refreshIntervalMs={0} refreshKey={1} />);
    await waitFor(() => expect(text(widget.querySelector('.tl-widget__renews')!)).toBe('Renova em 2 dias (1 de jun. de 2026, 00:00 UTC)'));
    vi.setSystemTime(new Date('2026-05-31T00:00:00Z'));
    rerender(<TokenWidget baseUrl={server.baseUrl} fetcher={server.as('bruna')} locale="pt-BR" refreshIntervalMs={0} refreshKey={2} />);
    await waitFor(() => expect(text(widget.querySelector('.tl-widget__renews')!)).toBe('Renova em 1 dia (1 de jun. de 2026, 00:00 UTC)'));
    vi.setSystemTime(new Date('2026-05-31T19:00:00Z'));
    rerender(<TokenWidget baseUrl={server.baseUrl} fetcher={server.as('bruna')} locale="pt-BR" refreshIntervalMs={0} refreshKey={3} />);
    await waitFor(() => expect(text(widget.querySelector('.tl-widget__renews')!)).toBe('Renova em 5 horas (1 de jun. de 2026, 00:00 UTC)'));
    rerender(<TokenWidget baseUrl={server.baseUrl} fetcher={server.as('bruna')} locale="en" refreshIntervalMs={0} refreshKey={3} />);
    expect(text(widget.querySelector('.tl-widget__renews')!)).toBe('Renews in 5 hours (Jun 1, 2026, 12:00 AM UTC)');
  });

  it('turns to the warning state past the threshold (default 0.8, or the prop) and to exceeded at 100%', async () => {
    await charge(server.limiter, 'carol', { input: 80_000, output: 5_000 });
    const { container, unmount } = render(<TokenWidget baseUrl={server.baseUrl} fetcher={server.as('carol')} refreshIntervalMs={0} />);
    await screen.findByRole('progressbar');
    const widget = () => container.querySelector('.tl-widget')!;
    expect(widget().getAttribute('data-state')).toBe('warning');
    expect(widget().className).toContain('tl-widget--warning');
    expect(text(screen.getByText(/of your limit/))).toBe('You have used 85% of your limit');
    unmount();

    render(<TokenWidget baseUrl={server.baseUrl} fetcher={server.as('carol')} refreshIntervalMs={0} warningThreshold={0.9} />);
    await screen.findByRole('progressbar');
    expect(document.querySelector('.tl-widget')!.getAttribute('data-state')).toBe('ok');
    cleanupAll();

    // A threshold read from a URL or a form that is no number (NaN) takes the default, 0.8.
    render(<TokenWidget baseUrl={server.baseUrl} fetcher={server.as('carol')} refreshIntervalMs={0} warningThreshold={Number('eighty')} />);
    await screen.findByRole('progressbar');
    expect(document.querySelector('.tl-widget')!.getAttribute('data-state')).toBe('warning');
    cleanupAll();

    await server.limiter.admin.setLimits('carol', [{ id: 'monthly', tokens: 80_000, period: 'month' }]);
    render(<TokenWidget baseUrl={server.baseUrl} fetcher={server.as('carol')} refreshIntervalMs={0} />);
    const bar = await screen.findByRole('progressbar');
    expect(document.querySelector('.tl-widget')!.getAttribute('data-state')).toBe('exceeded');
    // Used past the limit: aria-valuenow stays within min..max, the text says the truth.
    expect(bar.getAttribute('aria-valuenow')).toBe('100');
    expect(bar.getAttribute('aria-valuemax')).toBe('100');
    expect(bar.getAttribute('aria-valuetext')).toBe('85,000 of 80,000 tokens used');
    expect(screen.getByText('Limit reached: new AI requests are refused until it renews')).toBeTruthy();
    expect(text(document.querySelector('.tl-widget__remaining')!)).toBe('0 tokens left');
  });

  it('gives a limit of 0 a range assistive tech can read: a full bar, 100 of 0 to 100', async () => {
    await server.limiter.admin.setLimits('zero', [{ id: 'monthly', tokens: 0, period: 'month' }]);
    render(<TokenWidget baseUrl={server.baseUrl} fetcher={server.as('zero')} refreshIntervalMs={0} />);
    const bar = await screen.findByRole('progressbar');
    expect([bar.getAttribute('aria-valuemin'), bar.getAttribute('aria-valuenow'), bar.getAttribute('aria-valuemax')]).toEqual(['0', '100', '100']);
    expect(bar.getAttribute('aria-valuetext')).toBe('0 of 0 tokens used');
  });

  it('shows a disabled user that AI features are off', async () => {
    await server.limiter.admin.setActive('dave', false);
    render(<TokenWidget baseUrl={server.baseUrl} fetcher={server.as('dave')} refreshIntervalMs={0} />);
    await screen.findByText('AI features are disabled for this user');
    expect(document.querySelector('.tl-widget')!.getAttribute('data-state')).toBe('disabled');
    // Nothing suggests the user can still spend: no bar, no "left".
    expect(screen.queryByRole('progressbar')).toBeNull();
    expect(document.querySelector('.tl-widget__remaining')).toBeNull();
  });

  it('shows the API error in the widget locale (401 signed out) with a retry that loads again', async () => {
    let signedIn = false;
    const fetcher: Fetcher = (url, init) => (signedIn ? server.as('erin')(url, init) : fetch(url, init));
    render(<TokenWidget baseUrl={server.baseUrl} fetcher={fetcher} locale="pt-BR" refreshIntervalMs={0} />);
    const alert = await screen.findByRole('alert');
    expect(text(alert)).toContain('Não foi possível carregar os dados de uso');
    expect(text(alert)).toContain('É necessário entrar'); // 'unauthenticated' from the catalogue, in pt-BR
    expect(document.querySelector('.tl-widget')!.getAttribute('data-state')).toBe('error');
    signedIn = true;
    await userEvent.click(within(alert).getByRole('button', { name: 'Tentar novamente' }));
    expect(await screen.findByRole('progressbar')).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('reads another rule with ruleId', async () => {
    await server.limiter.admin.setLimits('frank', [
      { id: 'monthly', tokens: 100_000, period: 'month' },
      { id: 'daily-requests', requests: 50, period: 'day' },
    ]);
    await charge(server.limiter, 'frank', { input: 10, output: 10 });
    render(<TokenWidget baseUrl={server.baseUrl} fetcher={server.as('frank')} refreshIntervalMs={0} ruleId="daily-requests" />);
    const bar = await screen.findByRole('progressbar', { name: 'Request usage' });
    expect(bar.getAttribute('aria-valuetext')).toBe('1 of 50 requests used');
    expect(text(document.querySelector('.tl-widget__used')!)).toBe('1 / 50 requests');
    expect(text(document.querySelector('.tl-widget__renews')!)).toBe('Renews in 12 hours (May 21, 2026, 12:00 AM UTC)');
  });

  it('says requests in pt-BR with their gender: "requisições usadas"', async () => {
    await server.limiter.admin.setLimits('gabi', [{ id: 'daily-requests', requests: 50, period: 'day' }]);
    await charge(server.limiter, 'gabi', { input: 10, output: 10 });
    render(<TokenWidget baseUrl={server.baseUrl} fetcher={server.as('gabi')} refreshIntervalMs={0} locale="pt-BR" />);
    const bar = await screen.findByRole('progressbar', { name: 'Uso de requisições' });
    expect(bar.getAttribute('aria-valuetext')).toBe('1 de 50 requisições usadas');
  });
});

function cleanupAll() {
  document.body.innerHTML = '';
}

describe('<TokenWidget /> UI states (mocked fetcher)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('formats cost rules as currency (en and pt-BR)', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: NOW });
    const fetcher = vi.fn<Fetcher>(async () => json(usageJson({ used: 1.5, limit: 5, metric: 'costUsd' })));
    const { rerender } = render(<TokenWidget fetcher={fetcher} refreshIntervalMs={0} />);
    const bar = await screen.findByRole('progressbar', { name: 'Spending' });
    expect(bar.getAttribute('aria-valuenow')).toBe('30');
    expect(bar.getAttribute('aria-valuetext')).toBe('$1.50 of $5.00 used');
    expect(text(document.querySelector('.tl-widget__used')!)).toBe('$1.50 / $5.00');
    expect(text(document.querySelector('.tl-widget__remaining')!)).toBe('$3.50 left');
    rerender(<TokenWidget fetcher={fetcher} refreshIntervalMs={0} locale="pt-BR" />);
    expect(text(document.querySelector('.tl-widget__used')!)).toBe('US$ 1,50 / US$ 5,00');
    expect(text(document.querySelector('.tl-widget__remaining')!)).toBe('US$ 3,50 restantes');
    expect(fetcher).toHaveBeenCalledTimes(1);
    expect(fetcher.mock.calls[0]![0]).toBe('/admin/api/me/usage'); // the default baseUrl
  });

  it('says "1 token restante" in pt-BR: what is left agrees in number', async () => {
    const cases = [
      { used: 99_999, limit: 100_000, metric: 'tokens' as const, pt: '1 token restante', en: '1 token left' },
      { used: 99_998, limit: 100_000, metric: 'tokens' as const, pt: '2 tokens restantes', en: '2 tokens left' },
      { used: 49, limit: 50, metric: 'requests' as const, pt: '1 requisição restante', en: '1 request left' },
      { used: 4, limit: 5, metric: 'costUsd' as const, pt: 'US$ 1,00 restante', en: '$1.00 left' },
      { used: 4.5, limit: 5, metric: 'costUsd' as const, pt: 'US$ 0,50 restantes', en: '$0.50 left' },
    ];
    for (const c of cases) {
      const fetcher = vi.fn<Fetcher>(async () => json(usageJson({ used: c.used, limit: c.limit, metric: c.metric })));
      const { unmount, rerender } = render(<TokenWidget fetcher={fetcher} refreshIntervalMs={0} locale="pt-BR" />);
      await screen.findByRole('progressbar');
      expect(text(document.querySelector('.tl-widget__remaining')!), c.pt).toBe(c.pt);
      rerender(<TokenWidget fetcher={fetcher} refreshIntervalMs={0} locale="en" />);
      expect(text(document.querySelector('.tl-widget__remaining')!), c.en).toBe(c.en);
      unmount();
    }
  });

  it('says in its locale that the server could not be reached or answered something unreadable', async () => {
    // A real connection failure: nothing listens on port 1.
    const { unmount } = render(<TokenWidget baseUrl="http://127.0.0.1:1/admin/api" refreshIntervalMs={0} locale="pt-BR" />);
    let alert = await screen.findByRole('alert');
    expect(text(alert)).toBe('Não foi possível carregar os dados de usoNão foi possível contatar o servidorTentar novamente');
    unmount();

    // The connection drops while the body is read, and a 200 that is not JSON (a proxy's page).
    const cut = vi.fn<Fetcher>(async () => ({ ok: true, status: 200, text: () => Promise.reject(new TypeError('terminated')) }) as unknown as Response);
    const second = render(<TokenWidget fetcher={cut} refreshIntervalMs={0} locale="pt-BR" />);
    alert = await screen.findByRole('alert');
    expect(text(alert)).toContain('Não foi possível contatar o servidor');
    second.unmount();
    const page = vi.fn<Fetcher>(async () => ({ ok: true, status: 200, text: () => Promise.resolve('<html>Sign in</html>') }) as unknown as Response);
    render(<TokenWidget fetcher={page} refreshIntervalMs={0} locale="pt-BR" />);
    alert = await screen.findByRole('alert');
    expect(text(alert)).toContain('Resposta inesperada do servidor');
  });

  it('does not round a share under the limit up to "100% used" while some is left', async () => {
    const fetcher = vi.fn<Fetcher>(async () => json(usageJson({ used: 99_999, limit: 100_000 })));
    render(<TokenWidget fetcher={fetcher} refreshIntervalMs={0} />);
    await screen.findByRole('progressbar');
    expect(text(document.querySelector('.tl-widget__percent')!)).toBe('99% used');
    expect(text(document.querySelector('.tl-widget__remaining')!)).toBe('1 token left');
    expect(text(screen.getByRole('status'))).toBe('You have used 99% of your limit');
    expect(document.querySelector('.tl-widget')!.getAttribute('data-state')).toBe('warning');
  });

  it('gives a cost rule\'s used, left and accessible value the same precision', async () => {
    const fetcher = vi.fn<Fetcher>(async () => json(usageJson({ used: 1.2345, limit: 3, metric: 'costUsd' })));
    render(<TokenWidget fetcher={fetcher} refreshIntervalMs={0} locale="pt-BR" />);
    const bar = await screen.findByRole('progressbar');
    expect(text(document.querySelector('.tl-widget__used')!)).toBe('US$ 1,23 / US$ 3,00');
    expect(text(document.querySelector('.tl-widget__remaining')!)).toBe('US$ 1,77 restantes');
    expect(bar.getAttribute('aria-valuetext')!.replace(NBSP, ' ')).toBe('US$ 1,23 de US$ 3,00 usados');
  });

  it('keeps the figures on a failed refresh and says they may be out of date', async () => {
    let fail = false;
    const fetcher = vi.fn<Fetcher>(async () => (fail ? json({ error: 'x', code: 'store_unavailable' }, 503) : json(usageJson({ used: 10, limit: 100 }))));
    const { rerender } = render(<TokenWidget fetcher={fetcher} refreshIntervalMs={0} />);
    await screen.findByRole('progressbar');
    fail = true;
    rerender(<TokenWidget fetcher={fetcher} refreshIntervalMs={0} refreshKey="again" />);
    const alert = await screen.findByRole('alert');
    expect(text(alert)).toContain('Could not refresh; the figures may be out of date');
    expect(text(alert)).toContain('The usage quota service is temporarily unavailable');
    expect(screen.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('10');
  });

  it("drops one API's figures when baseUrl changes: another API's failure is not shown with them", async () => {
    let answerB: ((r: Response) => void) | undefined;
    const fetcher = vi.fn<Fetcher>((url) =>
      url.startsWith('/tenant-a/') ? Promise.resolve(json(usageJson({ used: 10, limit: 100 }))) : new Promise<Response>((resolve) => (answerB = resolve)),
    );
    const { container, rerender } = render(<TokenWidget baseUrl="/tenant-a" fetcher={fetcher} refreshIntervalMs={0} />);
    await screen.findByRole('progressbar');
    rerender(<TokenWidget baseUrl="/tenant-b" fetcher={fetcher} refreshIntervalMs={0} />);
    // While the other API answers: loading, not the first API's figures.
    expect(screen.queryByRole('progressbar')).toBeNull();
    expect(container.querySelector('.tl-widget')!.getAttribute('data-state')).toBe('loading');
    await waitFor(() => expect(answerB).toBeDefined());
    await act(async () => answerB!(json({ error: 'Forbidden', code: 'forbidden' }, 403)));
    const alert = await screen.findByRole('alert');
    expect(text(alert)).toBe('Could not load the usage dataYou are not allowed to do thisRetry');
    expect(screen.queryByRole('progressbar')).toBeNull();
    expect(container.querySelector('.tl-widget')!.getAttribute('data-state')).toBe('error');
  });

  it('polls every refreshIntervalMs, one request at a time, and stops and aborts on unmount', async () => {
    vi.useFakeTimers({ now: NOW });
    const signals: AbortSignal[] = [];
    let delayMs = 0;
    const fetcher = vi.fn<Fetcher>((_url, init) => {
      signals.push(init.signal!);
      const answer = json(usageJson({ used: signals.length, limit: 100 }));
      if (delayMs === 0) return Promise.resolve(answer);
      return new Promise<Response>((resolve, reject) => {
        const t = setTimeout(() => resolve(answer), delayMs);
        init.signal!.addEventListener('abort', () => {
          clearTimeout(t);
          reject(new DOMException('aborted', 'AbortError'));
        });
      });
    });
    const { unmount } = render(<TokenWidget fetcher={fetcher} refreshIntervalMs={1000} />);
    await act(() => vi.advanceTimersByTimeAsync(0));
    expect(fetcher).toHaveBeenCalledTimes(1);
    expect(screen.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('1');
    await act(() => vi.advanceTimersByTimeAsync(3000));
    expect(fetcher).toHaveBeenCalledTimes(4);
    expect(screen.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('4');

    // A slow API: the next poll waits for the previous answer (no overlapping requests).
    delayMs = 5000;
    await act(() => vi.advanceTimersByTimeAsync(1000)); // poll 5 starts, answers at +5 s
    expect(fetcher).toHaveBeenCalledTimes(5);
    await act(() => vi.advanceTimersByTimeAsync(4000));
    expect(fetcher).toHaveBeenCalledTimes(5);
    await act(() => vi.advanceTimersByTimeAsync(2000)); // answered at +5 s, next poll 1 s later
    expect(fetcher).toHaveBeenCalledTimes(6);

    // Unmount with poll 6 in flight: it is aborted, and no timer fires again.
    unmount();
    expect(signals[5]!.aborted).toBe(true);
    await act(() => vi.advanceTimersByTimeAsync(60_000));
    expect(fetcher).toHaveBeenCalledTimes(6);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('loads again when the window renews, even without polling, and never loops on a reset already past', async () => {
    vi.useFakeTimers({ now: NOW });
    const resets = [new Date(NOW.getTime() + 10_000).toISOString(), '2026-06-01T00:00:00.000Z'];
    let calls = 0;
    const fetcher = vi.fn<Fetcher>(async () => {
      calls += 1;
      const usage = usageJson({ used: calls === 1 ? 50 : 0, limit: 100 });
      const resetAt = resets[Math.min(calls - 1, 1)]!;
      return json({ ...usage, resetAt, windows: [{ ...usage.windows[0]!, resetAt }] });
    });
    const { unmount } = render(<TokenWidget fetcher={fetcher} refreshIntervalMs={0} />);
    await act(() => vi.advanceTimersByTimeAsync(0));
    expect(screen.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('50');
    expect(text(document.querySelector('.tl-widget__renews')!)).toBe('Renews in less than an hour (May 20, 2026, 12:00 PM UTC)');
    await act(() => vi.advanceTimersByTimeAsync(11_000));
    expect(fetcher).toHaveBeenCalledTimes(2);
    expect(screen.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('0');
    expect(text(document.querySelector('.tl-widget__renews')!)).toBe('Renews in 12 days (Jun 1, 2026, 12:00 AM UTC)');
    unmount();
    expect(vi.getTimerCount()).toBe(0);

    // A server whose clock is behind answers a reset the browser sees as past: no reload storm.
    const behind = vi.fn<Fetcher>(async () => json(usageJson({ used: 1, limit: 100 })));
    vi.setSystemTime(new Date('2026-06-01T00:00:05Z'));
    render(<TokenWidget fetcher={behind} refreshIntervalMs={0} />);
    await act(() => vi.advanceTimersByTimeAsync(60_000));
    expect(behind).toHaveBeenCalledTimes(1);
  });

  it('does not poll with refreshIntervalMs 0, and reloads when refreshKey changes', async () => {
    vi.useFakeTimers({ now: NOW });
    const fetcher = vi.fn<Fetcher>(async () => json(usageJson({ used: 1, limit: 100 })));
    const { rerender } = render(<TokenWidget fetcher={fetcher} refreshIntervalMs={0} />);
    await act(() => vi.advanceTimersByTimeAsync(600_000));
    expect(fetcher).toHaveBeenCalledTimes(1);
    rerender(<TokenWidget fetcher={fetcher} refreshIntervalMs={0} refreshKey={1} />);
    await act(() => vi.advanceTimersByTimeAsync(0));
    expect(fetcher).toHaveBeenCalledTimes(2);
  });
});
