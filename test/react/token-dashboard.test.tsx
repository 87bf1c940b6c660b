// @vitest-environment jsdom
import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { TokenDashboard, type Fetcher } from '../../src/react/index.js';
import { charge, json, NOW, startAdminServer, usageJson, type AdminServer } from './helpers.js';

const text = (el: Element) => (el.textContent ?? '').replace(/\u00a0/g, ' ');

describe('<TokenDashboard /> against the real admin API', () => {
  let server: AdminServer;
  beforeAll(async () => {
    server = await startAdminServer();
    // Alice's calls this month: two models on 3 May, one on 10 May, one on 20 May; one in April.
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-04-30T10:00:00Z') });
    await charge(server.limiter, 'alice', { input: 9000, output: 0, model: 'gpt-4o-mini' });
    vi.setSystemTime(new Date('2026-05-03T09:00:00Z'));
    await charge(server.limiter, 'alice', { input: 1000, output: 200, model: 'gpt-4o-mini' });
    vi.setSystemTime(new Date('2026-05-03T15:00:00Z'));
    await charge(server.limiter, 'alice', { input: 300, output: 100, model: 'gpt-4o' });
    vi.setSystemTime(new Date('2026-05-10T08:00:00Z'));
    await charge(server.limiter, 'alice', { input: 500, output: 0, model: 'gpt-4o-mini' });
    vi.setSystemTime(new Date('2026-05-20T11:00:00Z'));
    await charge(server.limiter, 'alice', { input: 40, output: 2, model: 'gpt-4o' });
    vi.useRealTimers();
  });
  afterAll(() => server.close());
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'], now: NOW });
    server.requests.length = 0;
  });
  afterEach(() => vi.useRealTimers());

  it('asks for the current period by day and shows every day, zero-filled, stacked by model', async () => {
    const { container } = render(<TokenDashboard baseUrl={server.baseUrl} fetcher={server.as('alice')} refreshIntervalMs={0} timeZone="UTC" />);
    await screen.findByRole('table', { name: 'Latest calls' });
    expect(server.requests.map((r) => r.path).sort()).toEqual([
      '/admin/api/me/history?granularity=day&from=2026-05-01T00%3A00%3A00.000Z&to=2026-06-01T00%3A00%3A00.000Z',
      '/admin/api/me/log?limit=10',
      '/admin/api/me/refusals?limit=20',
      '/admin/api/me/usage',
    ]);
    expect(screen.getByRole('heading', { name: 'Your usage this period' })).toBeTruthy();
    expect(text(container.querySelector('.tl-dashboard__period')!)).toBe('May 1, 2026 to May 31, 2026');

    // The chart: the period so far (May 1 to today, May 20), each day a labelled group; the days to
    // come are not empty bars but a projection, marked as such: 2,142 tokens in 19.5 of 31 days.
    const figure = screen.getByRole('figure', { name: 'Tokens per day, by model' });
    const days = figure.querySelectorAll('g.tl-chart__day');
    expect(days).toHaveLength(20);
    expect(days[0]!.getAttribute('data-day')).toBe('2026-05-01');
    expect(days[19]!.getAttribute('data-day')).toBe('2026-05-20');
    expect(text(container.querySelector('[data-testid="tl-projection"]')!)).toBe('Projection at this pace: about 3,405 tokens by the end of the period (May 31, 2026)');
    const may3 = figure.querySelector('g[data-day="2026-05-03"]')!;
    expect(may3.getAttribute('aria-label')).toBe('May 3: 1,600 in total; gpt-4o-mini: 1,200; gpt-4o: 400');
    expect(may3.getAttribute('role')).toBe('img');
    const bars = [...may3.querySelectorAll('rect')];
    expect(bars.map((b) => b.getAttribute('data-model'))).toEqual(['gpt-4o-mini', 'gpt-4o']);
    expect(bars.map((b) => b.querySelector('title')!.textContent)).toEqual(['May 3, gpt-4o-mini: 1,200', 'May 3, gpt-4o: 400']);
    // Stacked: same x, the second bar sits on top of the first.
    expect(bars[0]!.getAttribute('x')).toBe(bars[1]!.getAttribute('x'));
    expect(Number(bars[1]!.getAttribute('y')) + Number(bars[1]!.getAttribute('height'))).toBeCloseTo(Number(bars[0]!.getAttribute('y')), 6);
    expect(figure.querySelector('g[data-day="2026-05-02"]')!.querySelectorAll('rect')).toHaveLength(0);
    expect(figure.querySelector('g[data-day="2026-05-02"]')!.getAttribute('aria-label')).toBe('May 2: 0 in total');
    // The April call is outside the period.
    expect(figure.querySelector('g[data-day="2026-04-30"]')).toBeNull();

    // The data table fallback: every day, zeros included.
    const table = within(figure).getByRole('table');
    const rows = within(table).getAllByRole('row');
    expect(rows).toHaveLength(21);
    expect(rows[0]!.textContent).toBe('Day (UTC)gpt-4o-minigpt-4oTotal');
    expect([...rows[2]!.children].map((c) => c.textContent)).toEqual(['May 2, 2026', '0', '0', '0']);
    expect([...rows[3]!.children].map((c) => c.textContent)).toEqual(['May 3, 2026', '1,200', '400', '1,600']);
    expect([...rows[10]!.children].map((c) => c.textContent)).toEqual(['May 10, 2026', '500', '0', '500']);
    expect([...rows[20]!.children].map((c) => c.textContent)).toEqual(['May 20, 2026', '0', '42', '42']);
    const sum = (await server.limiter.admin.getUsage('alice')).used;
    expect(sum).toBe(1600 + 500 + 42);
    expect(within(figure).getByRole('list', { name: 'Model' }).textContent).toBe('gpt-4o-minigpt-4o');

    // The log: newest first, with figures; every call ended OK, so there is no status column.
    const log = screen.getByRole('table', { name: 'Latest calls' });
    const logRows = within(log).getAllByRole('row').slice(1);
    expect(logRows).toHaveLength(5);
    expect([...logRows[0]!.children].map((c) => text(c))).toEqual(['May 20, 2026, 11:00 AM', 'gpt-4o', '40', '2', '42', '$0.00012']);
    expect(within(log).queryByRole('columnheader', { name: 'Status' })).toBeNull();
    expect([...logRows[1]!.children].map((c) => text(c))[0]).toBe('May 10, 2026, 8:00 AM');
    expect(logRows[4]!.children[0]!.textContent).toBe('Apr 30, 2026, 10:00 AM');
  });

  it('groups the models side by side, limits the log, and speaks pt-BR', async () => {
    render(<TokenDashboard baseUrl={server.baseUrl} fetcher={server.as('alice')} refreshIntervalMs={0} locale="pt-BR" chartMode="grouped" logLimit={2} timeZone="UTC" />);
    const log = await screen.findByRole('table', { name: 'Últimas chamadas' });
    expect(server.requests.some((r) => r.path === '/admin/api/me/log?limit=2')).toBe(true);
    expect(within(log).getAllByRole('row')).toHaveLength(3);
    expect(within(log).getAllByRole('columnheader').map((h) => h.textContent)).toEqual([
      'Horário (UTC)',
      'Modelo',
      'Tokens de entrada',
      'Tokens de saída',
      'Total de tokens',
      'Custo',
    ]);
    const figure = screen.getByRole('figure', { name: 'Tokens por dia, por modelo' });
    const may3 = figure.querySelector('g[data-day="2026-05-03"]')!;
    expect(may3.getAttribute('aria-label')).toBe('3 de mai.: 1.600 no total; gpt-4o-mini: 1.200; gpt-4o: 400');
    const bars = [...may3.querySelectorAll('rect')];
    expect(Number(bars[1]!.getAttribute('x'))).toBeGreaterThan(Number(bars[0]!.getAttribute('x')));
    expect(text(document.querySelector('.tl-dashboard__period')!)).toBe('De 1 de mai. de 2026 a 31 de mai. de 2026');
    await userEvent.click(within(figure).getByText('Mostrar os dados em tabela'));
    expect(within(figure).getAllByRole('row')[3]!.textContent).toBe('3 de mai. de 20261.2004001.600');
  });

  it('shows an empty period and a user with no calls', async () => {
    render(<TokenDashboard baseUrl={server.baseUrl} fetcher={server.as('nobody')} refreshIntervalMs={0} />);
    expect(await screen.findByText('No calls yet')).toBeTruthy();
    expect(screen.getByText('No usage in this period yet')).toBeTruthy();
    expect(document.querySelectorAll('g.tl-chart__day')).toHaveLength(20);
    expect(document.querySelectorAll('rect')).toHaveLength(0);
    expect(text(document.querySelector('[data-testid="tl-projection"]')!)).toBe('Projection at this pace: about 0 tokens by the end of the period (May 31, 2026)');
  });

  it("charts a yearly period's calls so far: its last 93 days up to today, not up to the reset", async () => {
    await server.limiter.admin.setLimits('yuri', [{ id: 'yearly', tokens: 1_000_000, period: 'year' }]);
    vi.setSystemTime(new Date('2026-04-01T10:00:00Z'));
    await charge(server.limiter, 'yuri', { input: 5000, output: 0 });
    vi.setSystemTime(new Date('2026-05-19T10:00:00Z'));
    await charge(server.limiter, 'yuri', { input: 700, output: 0 });
    vi.setSystemTime(NOW);
    render(<TokenDashboard baseUrl={server.baseUrl} fetcher={server.as('yuri')} refreshIntervalMs={0} timeZone="UTC" />);
    await screen.findByRole('table', { name: 'Latest calls' });
    // The period runs to 1 January 2027; the chart shows 17 February to today, 20 May.
    expect(server.requests.find((r) => r.path.includes('/me/history'))!.path).toBe(
      '/admin/api/me/history?granularity=day&from=2026-02-17T00%3A00%3A00.000Z&to=2027-01-01T00%3A00%3A00.000Z',
    );
    const figure = screen.getByRole('figure', { name: 'Tokens per day, by model' });
    const days = figure.querySelectorAll('g.tl-chart__day');
    expect(days).toHaveLength(93);
    expect(days[0]!.getAttribute('data-day')).toBe('2026-02-17');
    expect(figure.querySelector('g[data-day="2026-04-01"]')!.getAttribute('aria-label')).toBe('Apr 1: 5,000 in total; gpt-4o-mini: 5,000');
    expect(figure.querySelector('g[data-day="2026-05-19"]')!.getAttribute('aria-label')).toBe('May 19: 700 in total; gpt-4o-mini: 700');
    expect(screen.queryByText('No usage in this period yet')).toBeNull();
  });

  it('asks a period longer than the history API reads (3,650 days) for its last 93 days only', async () => {
    await server.limiter.admin.setLimits('yves', [{ id: 'decade', tokens: 1_000_000, period: { days: 3650 } }]);
    await charge(server.limiter, 'yves', { input: 300, output: 0 });
    render(<TokenDashboard baseUrl={server.baseUrl} fetcher={server.as('yves')} refreshIntervalMs={0} timeZone="UTC" />);
    await screen.findByRole('table', { name: 'Latest calls' });
    const path = server.requests.find((r) => r.path.includes('/me/history'))!.path;
    const query = new URLSearchParams(path.slice(path.indexOf('?')));
    expect(Date.parse(query.get('to')!) - Date.parse(query.get('from')!)).toBeLessThanOrEqual(366 * 86_400_000);
    expect(screen.queryByRole('alert')).toBeNull();
    expect(screen.getByRole('figure').querySelector('g[data-day="2026-05-20"]')!.getAttribute('aria-label')).toBe('May 20: 300 in total; gpt-4o-mini: 300');
  });

  it('describes a chart of one day (a daily rule) in the singular', async () => {
    await server.limiter.admin.setLimits('dora', [{ id: 'daily', requests: 100, period: 'day' }]);
    await charge(server.limiter, 'dora', { input: 10, output: 0 });
    const { container, rerender } = render(<TokenDashboard baseUrl={server.baseUrl} fetcher={server.as('dora')} refreshIntervalMs={0} timeZone="UTC" />);
    await screen.findByRole('table', { name: 'Latest calls' });
    expect(text(container.querySelector('figure desc')!)).toBe('1 day, May 20; highest day 1');
    rerender(<TokenDashboard baseUrl={server.baseUrl} fetcher={server.as('dora')} refreshIntervalMs={0} timeZone="UTC" locale="pt-BR" />);
    expect(text(container.querySelector('figure desc')!)).toBe('1 dia, 20 de mai.; maior dia 1');
    // Longer periods: "20 days from May 1 to May 20".
    rerender(<TokenDashboard baseUrl={server.baseUrl} fetcher={server.as('alice')} refreshIntervalMs={0} timeZone="UTC" refreshKey="alice" />);
    await waitFor(() => expect(text(container.querySelector('figure desc')!)).toBe('20 days from May 1 to May 20; highest day 1,600'));
  });

  it('shows an error with a retry', async () => {
    render(<TokenDashboard baseUrl={server.baseUrl} fetcher={(url, init) => fetch(url, init)} refreshIntervalMs={0} />);
    const alert = await screen.findByRole('alert');
    expect(text(alert)).toContain('Sign-in required');
    expect(within(alert).getByRole('button', { name: 'Retry' })).toBeTruthy();
  });
});

describe('<TokenDashboard /> at its window’s reset', () => {
  afterEach(() => vi.useRealTimers());

  it('loads again when the window renews, even without polling, and never loops on a reset already past', async () => {
    vi.useFakeTimers({ now: NOW });
    const resets = [new Date(NOW.getTime() + 10_000).toISOString(), '2026-06-01T00:00:00.000Z'];
    let usageCalls = 0;
    const answer = (url: string, resetAt: () => string): Response => {
      const path = new URL(url, 'http://x').pathname;
      if (path.endsWith('/me/usage')) {
        usageCalls += 1;
        const usage = usageJson({ used: usageCalls === 1 ? 50 : 0, limit: 100 });
        return json({ ...usage, resetAt: resetAt(), windows: [{ ...usage.windows[0]!, resetAt: resetAt() }] });
      }
      if (path.endsWith('/me/history')) return json({ granularity: 'day', from: '2026-05-01T00:00:00.000Z', to: '2026-05-21T00:00:00.000Z', points: [] });
      if (path.endsWith('/me/log')) return json({ records: [] });
      return json({ refusals: [] });
    };
    const fetcher = vi.fn<Fetcher>(async (url) => answer(url, () => resets[Math.min(usageCalls - 1, 1)]!));
    const { unmount } = render(<TokenDashboard fetcher={fetcher} refreshIntervalMs={0} timeZone="UTC" />);
    await act(() => vi.advanceTimersByTimeAsync(0));
    expect(usageCalls).toBe(1);
    await act(() => vi.advanceTimersByTimeAsync(11_000));
    expect(usageCalls).toBe(2);
    unmount();
    expect(vi.getTimerCount()).toBe(0);

    // A server whose clock is behind answers a reset the browser sees as past: no reload storm.
    usageCalls = 0;
    vi.setSystemTime(new Date('2026-06-01T00:00:05Z'));
    render(<TokenDashboard fetcher={vi.fn<Fetcher>(async (url) => answer(url, () => '2026-06-01T00:00:00.000Z'))} refreshIntervalMs={0} timeZone="UTC" />);
    await act(() => vi.advanceTimersByTimeAsync(60_000));
    expect(usageCalls).toBe(1);
  });
});
