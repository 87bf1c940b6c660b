// @vitest-environment jsdom
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatCost } from '../../src/react/format.js';
import { AdminTokenPanel, type Fetcher } from '../../src/react/index.js';
import { charge, json, NOW, startAdminServer, usageJson, type AdminServer } from './helpers.js';

const text = (el: Element) => (el.textContent ?? '').replace(/\u00a0/g, ' ');
const usersTable = () => screen.getByRole('table', { name: /^Users/ });
const rowOf = (userId: string) => usersTable().querySelector(`tr[data-user-id="${userId}"]`) as HTMLElement;
const userIds = () => [...usersTable().querySelectorAll('tbody tr')].map((r) => r.getAttribute('data-user-id'));
const writes = (server: AdminServer) => server.requests.filter((r) => r.method !== 'GET');

describe('<AdminTokenPanel /> against the real admin API', () => {
  let server: AdminServer;
  beforeAll(async () => {
    server = await startAdminServer();
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-05-18T10:00:00Z') });
    await charge(server.limiter, 'ana', { input: 50_000, output: 40_000, model: 'gpt-4o-mini' }); // 90%
    await charge(server.limiter, 'bia', { input: 1_000, output: 0, model: 'gpt-4o' }); // 1%
    vi.setSystemTime(new Date('2026-05-19T10:00:00Z'));
    await charge(server.limiter, 'caio', { input: 30_000, output: 0, model: 'gpt-4o-mini' }); // 30%
    await charge(server.limiter, 'caio', { input: 2_000, output: 0, model: 'gpt-4o' });
    await charge(server.limiter, 'davi', { input: 100, output: 0, model: 'gpt-4o-mini' });
    await charge(server.limiter, 'eva', { input: 60_000, output: 0, model: 'gpt-4o-mini' }); // 60%
    vi.useRealTimers();
  });
  afterAll(() => server.close());
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'], now: NOW });
    server.requests.length = 0;
  });
  afterEach(() => vi.useRealTimers());

  const renderPanel = (props: Partial<Parameters<typeof AdminTokenPanel>[0]> = {}) =>
    render(<AdminTokenPanel baseUrl={server.baseUrl} fetcher={server.as('root', true)} refreshIntervalMs={0} timeZone="UTC" pageSize={2} {...props} />);

  it('shows the stat cards, the chart of everyone per model, and pages the users with the cursor', async () => {
    renderPanel();
    await screen.findByRole('table', { name: /^Users/ });
    await screen.findByText('Total tokens used');
    const stats = await server.limiter.admin.getStats();
    const card = (name: string) => document.querySelector(`[data-stat="${name}"] dd`)!;
    expect(stats.totalTokens).toBe(183_100);
    expect(text(card('tokens'))).toBe('183,100');
    expect(stats.totalCostUsd).toBeGreaterThan(0);
    expect(text(card('cost'))).toBe(formatCost('en', stats.totalCostUsd));
    expect(text(card('cost'))).toMatch(/^\$\d+\.\d{2,4}$/); // a precision that fits the size, not 6 decimals
    expect(text(card('active'))).toBe('5 of 5 known users');

    // Page 1 (id order), then the cursor the API gave, then back.
    expect(userIds()).toEqual(['ana', 'bia']);
    expect(server.requests.some((r) => r.path === '/admin/api/users?limit=2')).toBe(true);
    expect(screen.getByRole('button', { name: 'Previous page' }).getAttribute('aria-disabled')).toBe('true');
    await userEvent.click(screen.getByRole('button', { name: 'Next page' }));
    await waitFor(() => expect(userIds()).toEqual(['caio', 'davi']));
    expect(server.requests.some((r) => r.path === '/admin/api/users?cursor=bia&limit=2')).toBe(true);
    expect(screen.getByText('Page 2')).toBeTruthy();
    await userEvent.click(screen.getByRole('button', { name: 'Next page' }));
    await waitFor(() => expect(userIds()).toEqual(['eva']));
    expect(screen.getByRole('button', { name: 'Next page' }).getAttribute('aria-disabled')).toBe('true');
    await userEvent.click(screen.getByRole('button', { name: 'Previous page' }));
    await waitFor(() => expect(userIds()).toEqual(['caio', 'davi']));

    // A row: usage matching admin.getUsage, the limit with its period, status, reset date.
    const caio = await server.limiter.admin.getUsage('caio');
    const row = rowOf('caio');
    expect(text(within(row).getByTestId('tl-user-used'))).toBe(`${caio.used.toLocaleString('en-US')} / 100,000 tokens · 32%`);
    expect(within(row).getByRole('progressbar').getAttribute('aria-valuenow')).toBe('32');
    expect(text(within(row).getByTestId('tl-user-limit'))).toBe('100,000 tokens per month');
    expect(within(row).getByText('Active')).toBeTruthy();
    // The reset with its time and zone: midnight UTC is the evening before in the Americas.
    expect(within(row).getByText('Jun 1, 2026, 12:00 AM UTC')).toBeTruthy();

    // The chart: last 30 days of everyone, stacked per model; the model filter keeps one.
    const figure = screen.getByRole('figure', { name: 'Usage of all users, last 30 days' });
    expect(figure.querySelectorAll('g.tl-chart__day')).toHaveLength(30);
    expect(figure.querySelector('g[data-day="2026-05-19"]')!.getAttribute('aria-label')).toBe(
      'May 19: 92,100 in total; gpt-4o-mini: 90,100; gpt-4o: 2,000',
    );
    await userEvent.selectOptions(screen.getByRole('combobox', { name: 'Model' }), 'gpt-4o');
    expect(figure.querySelector('g[data-day="2026-05-19"]')!.getAttribute('aria-label')).toBe('May 19: 2,000 in total; gpt-4o: 2,000');
    expect(figure.querySelector('g[data-day="2026-05-18"]')!.getAttribute('aria-label')).toBe('May 18: 1,000 in total; gpt-4o: 1,000');
    expect(server.requests.filter((r) => r.path.startsWith('/admin/api/history'))).toHaveLength(1);
    expect(server.requests.find((r) => r.path.startsWith('/admin/api/history'))!.path).toBe(
      '/admin/api/history?granularity=day&from=2026-04-21T00%3A00%3A00.000Z&to=2026-05-20T12%3A00%3A00.000Z',
    );
  });

  it('sorts the page by a column (client-side, aria-sort), both ways', async () => {
    renderPanel({ pageSize: 50 });
    await screen.findByRole('table', { name: /^Users/ });
    expect(userIds()).toEqual(['ana', 'bia', 'caio', 'davi', 'eva']);
    const header = screen.getByRole('columnheader', { name: /Current usage/ });
    expect(header.getAttribute('aria-sort')).toBe('none');
    await userEvent.click(within(header).getByRole('button'));
    expect(header.getAttribute('aria-sort')).toBe('ascending');
    expect(userIds()).toEqual(['davi', 'bia', 'caio', 'eva', 'ana']);
    await userEvent.click(within(header).getByRole('button'));
    expect(header.getAttribute('aria-sort')).toBe('descending');
    expect(userIds()).toEqual(['ana', 'eva', 'caio', 'bia', 'davi']);
    await userEvent.click(within(within(usersTable()).getByRole('columnheader', { name: /User/ })).getByRole('button'));
    await userEvent.click(within(within(usersTable()).getByRole('columnheader', { name: /User/ })).getByRole('button'));
    expect(userIds()).toEqual(['eva', 'davi', 'caio', 'bia', 'ana']);
    expect(header.getAttribute('aria-sort')).toBe('none');
    expect(screen.getByText('(Sorting applies to the users on this page)')).toBeTruthy();
    expect(server.requests.filter((r) => r.path.startsWith('/admin/api/users'))).toHaveLength(1); // no request to sort
  });

  it('edits a limit: validates, shows the API 400 field and message, then sends the rules', async () => {
    renderPanel({ pageSize: 50 });
    await screen.findByRole('table', { name: /^Users/ });
    await userEvent.click(within(rowOf('bia')).getByRole('button', { name: 'Edit limit' }));
    const dialog = screen.getByRole('dialog', { name: 'Limits of bia' });
    const input = within(dialog).getByRole('spinbutton', { name: 'Limit' });
    expect(document.activeElement).toBe(input);
    expect((input as HTMLInputElement).value).toBe('100000');
    expect((within(dialog).getByRole('combobox', { name: 'Unit' }) as HTMLSelectElement).value).toBe('tokens');
    expect((within(dialog).getByRole('combobox', { name: 'Period' }) as HTMLSelectElement).value).toBe('month');
    const save = within(dialog).getByRole('button', { name: 'Save' });

    await userEvent.clear(input);
    await userEvent.click(save);
    expect(within(dialog).getByText('Enter a limit')).toBeTruthy();
    expect(input.getAttribute('aria-invalid')).toBe('true');
    await userEvent.type(input, '-5');
    await userEvent.click(save);
    expect(within(dialog).getByText('Enter a number of 0 or more')).toBeTruthy();
    await userEvent.clear(input);
    await userEvent.type(input, '1.5');
    await userEvent.click(save);
    expect(within(dialog).getByText('Enter a whole number')).toBeTruthy();
    expect(writes(server)).toEqual([]); // nothing sent yet

    // Past the API's bound (a safe integer): the client sends it, the API refuses with a 400.
    await userEvent.clear(input);
    await userEvent.type(input, '10000000000000000');
    await userEvent.click(save);
    const apiError = await within(dialog).findByRole('alert');
    expect(text(apiError)).toBe(
      'Invalid value for "rules[0].tokens"Invalid rules[0].tokens: expected a non-negative integer no larger than Number.MAX_SAFE_INTEGER (got 10000000000000000)',
    );
    expect(input.getAttribute('aria-describedby')).toBe(apiError.id);
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(writes(server)).toEqual([
      { method: 'PUT', path: '/admin/api/users/bia/limits', body: { rules: [{ id: 'monthly', period: 'month', tokens: 10_000_000_000_000_000 }] } },
    ]);

    await userEvent.clear(input);
    await userEvent.type(input, '5000');
    await userEvent.selectOptions(within(dialog).getByRole('combobox', { name: 'Period' }), 'week');
    await userEvent.click(save);
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(writes(server)[1]).toEqual({ method: 'PUT', path: '/admin/api/users/bia/limits', body: { rules: [{ id: 'monthly', period: 'week', tokens: 5000 }] } });
    expect(await server.limiter.admin.getLimits('bia')).toEqual([{ id: 'monthly', period: 'week', tokens: 5000 }]);
    await waitFor(() => expect(text(within(rowOf('bia')).getByTestId('tl-user-limit'))).toBe('5,000 tokens per week'));
    // Focus went back to the button that opened the dialog.
    expect(document.activeElement?.textContent).toBe('Edit limit');

    // "Use the default limits" sends null; Cancel and Escape send nothing.
    await userEvent.click(within(rowOf('bia')).getByRole('button', { name: 'Edit limit' }));
    await userEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Cancel' }));
    await userEvent.click(within(rowOf('bia')).getByRole('button', { name: 'Edit limit' }));
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(writes(server)).toHaveLength(2);
    await userEvent.click(within(rowOf('bia')).getByRole('button', { name: 'Edit limit' }));
    await userEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Use the default limits' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(writes(server)[2]).toEqual({ method: 'PUT', path: '/admin/api/users/bia/limits', body: { rules: null } });
    expect(await server.limiter.admin.getLimits('bia')).toEqual([{ id: 'monthly', tokens: 100_000, period: 'month' }]);
  });

  it('resets, disables and enables only after confirmation; cancel sends nothing', async () => {
    renderPanel({ pageSize: 50 });
    await screen.findByRole('table', { name: /^Users/ });
    const before = await server.limiter.admin.getUsage('davi');
    expect(before.used).toBe(100);

    await userEvent.click(within(rowOf('davi')).getByRole('button', { name: 'Reset usage' }));
    let confirm = screen.getByRole('alertdialog', { name: 'Reset usage' });
    expect(confirm.getAttribute('aria-describedby')).toBeTruthy();
    expect(text(confirm)).toContain('Reset the usage of davi in the current period?');
    await userEvent.click(within(confirm).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(writes(server)).toEqual([]);
    expect((await server.limiter.admin.getUsage('davi')).used).toBe(100);

    await userEvent.click(within(rowOf('davi')).getByRole('button', { name: 'Reset usage' }));
    confirm = screen.getByRole('alertdialog', { name: 'Reset usage' });
    await userEvent.click(within(confirm).getByRole('button', { name: 'Reset usage' }));
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
    expect(writes(server)).toEqual([{ method: 'POST', path: '/admin/api/users/davi/reset', body: undefined }]);
    expect((await server.limiter.admin.getUsage('davi')).used).toBe(0);
    await waitFor(() => expect(text(within(rowOf('davi')).getByTestId('tl-user-used'))).toBe('0 / 100,000 tokens · 0%'));

    // Disable: Escape cancels; Confirm sends; the row then offers Enable.
    await userEvent.click(within(rowOf('davi')).getByRole('button', { name: 'Disable' }));
    await userEvent.keyboard('{Escape}');
    expect(writes(server)).toHaveLength(1);
    await userEvent.click(within(rowOf('davi')).getByRole('button', { name: 'Disable' }));
    confirm = screen.getByRole('alertdialog', { name: 'Disable' });
    expect(text(confirm)).toContain('Disable AI features for davi? Their calls will be refused until enabled again.');
    await userEvent.click(within(confirm).getByRole('button', { name: 'Disable' }));
    await waitFor(() => expect(within(rowOf('davi')).getByText('Disabled')).toBeTruthy());
    expect(writes(server)[1]).toEqual({ method: 'POST', path: '/admin/api/users/davi/disable', body: undefined });
    expect((await server.limiter.admin.getUsage('davi')).isActive).toBe(false);
    expect(rowOf('davi').getAttribute('data-state')).toBe('disabled');

    await userEvent.click(within(rowOf('davi')).getByRole('button', { name: 'Enable' }));
    await userEvent.click(within(screen.getByRole('alertdialog', { name: 'Enable' })).getByRole('button', { name: 'Enable' }));
    await waitFor(() => expect(within(rowOf('davi')).getByText('Active')).toBeTruthy());
    expect(writes(server)[2]).toEqual({ method: 'POST', path: '/admin/api/users/davi/enable', body: undefined });
    expect((await server.limiter.admin.getUsage('davi')).isActive).toBe(true);
  });

  it('speaks pt-BR: cards, headers, dates, confirmation', async () => {
    renderPanel({ locale: 'pt-BR', pageSize: 50 });
    const table = await screen.findByRole('table', { name: /^Usuários/ });
    expect(within(table).getAllByRole('columnheader').map((h) => text(h).replace(/ [▲▼↕]$/, ''))).toEqual([
      'Usuário',
      'Uso atual',
      'Limite',
      'Situação',
      'Renova em',
      'Ações',
    ]);
    await screen.findByText('Total de tokens usados');
    expect(text(document.querySelector('[data-stat="tokens"] dd')!)).toBe('183.100');
    expect(text(document.querySelector('[data-stat="active"] dd')!)).toBe('5 de 5 usuários conhecidos');
    const ana = table.querySelector('tr[data-user-id="ana"]') as HTMLElement;
    expect(text(within(ana).getByTestId('tl-user-used'))).toBe('90.000 / 100.000 tokens · 90%');
    expect(ana.getAttribute('data-state')).toBe('warning');
    expect(within(ana).getByText('1 de jun. de 2026, 00:00 UTC')).toBeTruthy();
    await userEvent.click(within(ana).getByRole('button', { name: 'Zerar uso' }));
    expect(text(screen.getByRole('alertdialog'))).toContain('Zerar o uso de ana no período atual?');
    await userEvent.click(screen.getByRole('button', { name: 'Cancelar' }));
    expect(writes(server)).toEqual([]);
  });
});

describe('<AdminTokenPanel /> UI states (mocked fetcher)', () => {
  it('shows a failed action in the confirmation and keeps it open; 403 for a non-admin', async () => {
    const fetcher = vi.fn<Fetcher>(async (url, init) => {
      if (url.includes('/stats')) return json({ totalTokens: 0, totalCostUsd: 0, activeUsers: 0, users: 1 });
      if (url.includes('/history')) return json({ granularity: 'day', from: '2026-04-21T00:00:00.000Z', to: '2026-05-20T12:00:00.000Z', points: [] });
      if (url.includes('/users?')) return json({ users: [usageJson({ used: 1, limit: 10, userId: 'x' })], nextCursor: null });
      if (init.method === 'POST') return json({ error: 'down', code: 'store_unavailable' }, 503);
      return json({ error: 'nope', code: 'not_found' }, 404);
    });
    render(<AdminTokenPanel fetcher={fetcher} refreshIntervalMs={0} />);
    await screen.findByRole('table', { name: /^Users/ });
    await userEvent.click(screen.getByRole('button', { name: 'Reset usage' }));
    await userEvent.click(within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Reset usage' }));
    const alert = await within(screen.getByRole('alertdialog')).findByRole('alert');
    expect(text(alert)).toBe('The action failed: The usage quota service is temporarily unavailable; try again shortly');
    expect(fetcher.mock.calls.map((c) => c[0])).toContain('/admin/api/users/x/reset');
  });

  it('is not busy any more once plansAndAccounts is turned off while the plans load', async () => {
    const fetcher = vi.fn<Fetcher>((url, init) => {
      if (url.includes('/stats')) return Promise.resolve(json({ totalTokens: 0, totalCostUsd: 0, activeUsers: 0, users: 1 }));
      if (url.includes('/history')) return Promise.resolve(json({ granularity: 'day', from: '2026-04-21T00:00:00.000Z', to: '2026-05-20T12:00:00.000Z', points: [] }));
      if (url.includes('/users?')) return Promise.resolve(json({ users: [usageJson({ used: 1, limit: 10, userId: 'x' })], nextCursor: null }));
      if (url.includes('/log?')) return Promise.resolve(json({ records: [] }));
      // The plans and teams never answer.
      return new Promise<Response>((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
    });
    const { container, rerender } = render(<AdminTokenPanel fetcher={fetcher} refreshIntervalMs={0} plansAndAccounts />);
    await screen.findByRole('table', { name: /^Users/ });
    await screen.findByText('Total tokens used');
    expect(container.querySelector('.tl-admin')!.getAttribute('aria-busy')).toBe('true');
    rerender(<AdminTokenPanel fetcher={fetcher} refreshIntervalMs={0} />);
    await waitFor(() => expect(container.querySelector('.tl-admin')!.getAttribute('aria-busy')).toBe('false'));
  });

  it('shows 403 for a signed-in user who is not an admin', async () => {
    const server = await startAdminServer();
    try {
      render(<AdminTokenPanel baseUrl={server.baseUrl} fetcher={server.as('alice')} refreshIntervalMs={0} />);
      await waitFor(() => expect(screen.getAllByRole('alert')).toHaveLength(2));
      for (const alert of screen.getAllByRole('alert')) expect(text(alert)).toContain('You are not allowed to do this');
    } finally {
      await server.close();
    }
  });
});
