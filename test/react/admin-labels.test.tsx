// @vitest-environment jsdom
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AdminTokenPanel, createApiClient, TokenWidget, type Fetcher } from '../../src/react/index.js';
import { charge, startAdminServer, type AdminServer } from './helpers.js';

const text = (el: Element) => (el.textContent ?? '').replace(/\u00a0/g, ' ');

describe('<AdminTokenPanel getUserLabel />', () => {
  let server: AdminServer;
  beforeAll(async () => {
    server = await startAdminServer();
    await charge(server.limiter, 'u-1', { input: 100, output: 0 });
    await charge(server.limiter, 'u-2', { input: 200, output: 0 });
  });
  afterAll(() => server.close());

  it("shows the app's display names above the ids, and in the confirmations", async () => {
    const names = new Map([['u-1', 'Ana Souza']]);
    render(
      <AdminTokenPanel
        baseUrl={server.baseUrl}
        fetcher={server.as('root', true)}
        refreshIntervalMs={0}
        getUserLabel={(id) => names.get(id)}
      />,
    );
    const table = await screen.findByRole('table', { name: /^Users/ });
    const header = (id: string) => table.querySelector(`tr[data-user-id="${id}"] th`)!;
    expect(text(header('u-1'))).toBe('Ana Souzau-1');
    expect(header('u-1').querySelector('.tl-users__userid')!.textContent).toBe('u-1');
    expect(text(header('u-2'))).toBe('u-2'); // no label: the id alone, once
    await userEvent.click(within(table.querySelector('tr[data-user-id="u-1"]')!).getByRole('button', { name: 'Reset usage' }));
    expect(text(screen.getByRole('alertdialog'))).toContain('Ana Souza (u-1)');
  });

  it("lists everyone's latest calls (GET /log) with their users, newest first", async () => {
    render(<AdminTokenPanel baseUrl={server.baseUrl} fetcher={server.as('root', true)} refreshIntervalMs={0} getUserLabel={(id) => (id === 'u-2' ? 'Bia' : undefined)} locale="pt-BR" />);
    const log = await screen.findByRole('table', { name: 'Últimas chamadas de todos os usuários' });
    expect(server.requests.some((r) => r.path === '/admin/api/log?limit=20')).toBe(true);
    const rows = [...log.querySelectorAll('tbody tr')];
    expect(rows.map((r) => text(r.children[0]!))).toEqual(['Bia (u-2)', 'u-1']);
    expect(within(log).getAllByRole('columnheader')[0]!.textContent).toBe('Usuário');
  });

  it('titles a chart of one day "today", not "last 1 days" (en and pt-BR)', async () => {
    const { rerender } = render(<AdminTokenPanel baseUrl={server.baseUrl} fetcher={server.as('root', true)} refreshIntervalMs={0} historyDays={1} />);
    expect(await screen.findByRole('figure', { name: 'Usage of all users, today' })).toBeTruthy();
    rerender(<AdminTokenPanel baseUrl={server.baseUrl} fetcher={server.as('root', true)} refreshIntervalMs={0} historyDays={1} locale="pt-BR" />);
    expect(screen.getByRole('figure', { name: 'Uso de todos os usuários, hoje' }).querySelectorAll('g.tl-chart__day')).toHaveLength(1);
    rerender(<AdminTokenPanel baseUrl={server.baseUrl} fetcher={server.as('root', true)} refreshIntervalMs={0} historyDays={2} locale="pt-BR" />);
    expect(await screen.findByRole('figure', { name: 'Uso de todos os usuários, últimos 2 dias' })).toBeTruthy();
  });

  it("starts at the first page of another API when baseUrl changes, not at the previous one's cursor", async () => {
    const other = await startAdminServer();
    try {
      await charge(other.limiter, 'w-1', { input: 1, output: 0 });
      await charge(other.limiter, 'w-2', { input: 1, output: 0 });
      const { rerender } = render(<AdminTokenPanel baseUrl={server.baseUrl} fetcher={server.as('root', true)} refreshIntervalMs={0} pageSize={1} />);
      await screen.findByRole('table', { name: /^Users/ });
      await userEvent.click(screen.getByRole('button', { name: 'Next page' }));
      await screen.findByText('Page 2');
      rerender(<AdminTokenPanel baseUrl={other.baseUrl} fetcher={other.as('root', true)} refreshIntervalMs={0} pageSize={1} />);
      await waitFor(() => expect(screen.getByRole('table', { name: /^Users/ }).querySelector('tbody tr')!.getAttribute('data-user-id')).toBe('w-1'));
      expect(screen.getByText('Page 1')).toBeTruthy();
      expect(other.requests.filter((r) => r.path.startsWith('/admin/api/users?')).map((r) => r.path)).toEqual(['/admin/api/users?limit=1']);
    } finally {
      await other.close();
    }
  });

  it('logLimit 0 hides the log', async () => {
    server.requests.length = 0;
    render(<AdminTokenPanel baseUrl={server.baseUrl} fetcher={server.as('root', true)} refreshIntervalMs={0} logLimit={0} />);
    await screen.findByRole('table', { name: /^Users/ });
    expect(screen.queryByRole('table', { name: 'Latest calls of all users' })).toBeNull();
    expect(server.requests.some((r) => r.path.startsWith('/admin/api/log'))).toBe(false);
  });

  it('the search box asks the server for users whose id starts with it', async () => {
    server.requests.length = 0;
    render(<AdminTokenPanel baseUrl={server.baseUrl} fetcher={server.as('root', true)} refreshIntervalMs={0} pageSize={1} />);
    const table = await screen.findByRole('table', { name: /^Users/ });
    expect(table.querySelectorAll('tbody tr')).toHaveLength(1);
    await userEvent.type(screen.getByRole('searchbox', { name: 'Find users' }), 'u-2');
    await waitFor(() => expect([...screen.getByRole('table', { name: /^Users/ }).querySelectorAll('tbody tr')].map((r) => r.getAttribute('data-user-id'))).toEqual(['u-2']));
    expect(server.requests.some((r) => r.path === '/admin/api/users?limit=1&prefix=u-2')).toBe(true);
  });

  it('says that no user id starts with a search that finds nobody, not that there are no users', async () => {
    render(<AdminTokenPanel baseUrl={server.baseUrl} fetcher={server.as('root', true)} refreshIntervalMs={0} locale="pt-BR" />);
    await screen.findByRole('table', { name: /^Usuários/ });
    await userEvent.type(screen.getByRole('searchbox', { name: 'Buscar usuários' }), 'zz');
    await waitFor(() => expect(text(screen.getByRole('table', { name: /^Usuários/ }).querySelector('tbody')!)).toBe('Nenhum id de usuário começa com "zz"'));
    await userEvent.clear(screen.getByRole('searchbox', { name: 'Buscar usuários' }));
    await waitFor(() => expect(screen.getByRole('table', { name: /^Usuários/ }).querySelectorAll('tbody tr[data-user-id]').length).toBeGreaterThan(0));
  });

  it('a lookup that throws shows the id', async () => {
    render(
      <AdminTokenPanel
        baseUrl={server.baseUrl}
        fetcher={server.as('root', true)}
        refreshIntervalMs={0}
        getUserLabel={() => {
          throw new Error('directory down');
        }}
      />,
    );
    const table = await screen.findByRole('table', { name: /^Users/ });
    expect(text(table.querySelector('tr[data-user-id="u-1"] th')!)).toBe('u-1');
  });
});

describe('<TokenDashboard /> after an admin reset', () => {
  it('says the bars show every call while only what followed the reset counts', async () => {
    const { TokenDashboard } = await import('../../src/react/index.js');
    const server = await startAdminServer();
    try {
      await charge(server.limiter, 'zoe', { input: 300, output: 0 });
      const first = render(<TokenDashboard baseUrl={server.baseUrl} fetcher={server.as('zoe')} refreshIntervalMs={0} />);
      await screen.findByRole('table', { name: 'Latest calls' });
      expect(document.querySelector('[data-testid="tl-reset-note"]')).toBeNull();
      first.unmount();
      await server.limiter.admin.resetUsage('zoe');
      await charge(server.limiter, 'zoe', { input: 50, output: 0 });
      render(<TokenDashboard baseUrl={server.baseUrl} fetcher={server.as('zoe')} refreshIntervalMs={0} />);
      const note = await screen.findByTestId('tl-reset-note');
      expect(text(note)).toBe('Usage was reset during this period: the bars show every call; 50 tokens count toward the limit.');
      // One token: the verb agrees (en and pt-BR).
      await server.limiter.admin.resetUsage('zoe');
      await charge(server.limiter, 'zoe', { input: 1, output: 0 });
      const one = render(<TokenDashboard baseUrl={server.baseUrl} fetcher={server.as('zoe')} refreshIntervalMs={0} />);
      await waitFor(() => expect(text(within(one.container).getByTestId('tl-reset-note'))).toBe('Usage was reset during this period: the bars show every call; 1 token counts toward the limit.'));
      one.rerender(<TokenDashboard baseUrl={server.baseUrl} fetcher={server.as('zoe')} refreshIntervalMs={0} locale="pt-BR" />);
      expect(text(within(one.container).getByTestId('tl-reset-note'))).toBe('O uso foi zerado neste período: as barras mostram todas as chamadas; 1 token conta para o limite.');
    } finally {
      await server.close();
    }
  });

  it("does not take the previous period's last hours, in a rule's own time zone, for a reset", async () => {
    const { TokenDashboard } = await import('../../src/react/index.js');
    const server = await startAdminServer([{ id: 'monthly', tokens: 10_000, period: 'month', timeZone: 'America/Sao_Paulo' }]);
    try {
      // 30 April, 22:00 in São Paulo (the April period), but 1 May in UTC, the chart's day.
      vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-05-01T01:00:00Z') });
      await charge(server.limiter, 'sofia', { input: 500, output: 0 });
      vi.setSystemTime(new Date('2026-05-20T12:00:00Z'));
      await charge(server.limiter, 'sofia', { input: 100, output: 0 });
      render(<TokenDashboard baseUrl={server.baseUrl} fetcher={server.as('sofia')} refreshIntervalMs={0} />);
      await screen.findByRole('table', { name: 'Latest calls' });
      expect(document.querySelector('g[data-day="2026-05-01"]')!.getAttribute('aria-label')).toBe('May 1: 500 in total; gpt-4o-mini: 500');
      expect(document.querySelector('[data-testid="tl-reset-note"]')).toBeNull();
    } finally {
      vi.useRealTimers();
      await server.close();
    }
  });
});

describe("the API's own messages in the widgets' language", () => {
  let server: AdminServer;
  beforeAll(async () => {
    server = await startAdminServer();
    await server.limiter.admin.setPlan('pro', [{ id: 'monthly', tokens: 1_000, period: 'month' }]);
    await server.limiter.admin.assignPlan('u1', 'pro');
  });
  afterAll(() => server.close());

  it('asks the API for its locale: an error the API words itself (a plan in use) comes in it', async () => {
    const fetcher = server.as('root', true);
    const inPortuguese = (await createApiClient({ baseUrl: server.baseUrl, fetcher, locale: 'pt-BR' }).deletePlan('pro').catch((e: unknown) => e)) as Error;
    expect(inPortuguese).toMatchObject({ code: 'plan_in_use' });
    expect(inPortuguese.message).toContain('O plano está em uso');
    const inEnglish = (await createApiClient({ baseUrl: server.baseUrl, fetcher, locale: 'en' }).deletePlan('pro').catch((e: unknown) => e)) as Error;
    expect(inEnglish.message).toContain('The plan is in use');
  });

  it('the components send their locale with every request', async () => {
    const languages: Array<string | undefined> = [];
    const fetcher: Fetcher = (url, init) => {
      languages.push((init.headers as Record<string, string>)['accept-language']);
      return server.as('u1')(url, init);
    };
    render(<TokenWidget baseUrl={server.baseUrl} fetcher={fetcher} locale="pt-BR" />);
    await waitFor(() => expect(languages.length).toBeGreaterThan(0));
    expect(new Set(languages)).toEqual(new Set(['pt-BR']));
  });
});
