// @vitest-environment jsdom
import { act, configure, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LimitRule, TokenLimiter } from '../../src/index.js';
import { AdminTokenPanel, createApiClient, TokenWidget, type AccountUsageJson, type ApiClient, type Fetcher, type UserUsageJson } from '../../src/react/index.js';
import { MembersDialog, memberShare } from '../../src/react/admin/plans-accounts.js';
import { pickWindow } from '../../src/react/token-widget.js';
import { closeRedis, makeLimiter, type StoreKind } from '../integrations/helpers.js';
import { json, startAdminServer, usageJson, type AdminServer } from './helpers.js'; // also unmounts after every test

afterAll(closeRedis);
// A reload after an action is several requests (users, plans, teams, stats, history), some over
// Redis: give them time on a busy machine. Waits end as soon as the page shows the expected state.
configure({ asyncUtilTimeout: 5000 });

const text = (el: Element) => (el.textContent ?? '').replace(/\u00a0/g, ' ');
const tokens = (n: number, id = 'monthly', period: LimitRule['period'] = 'month'): LimitRule => ({ id, tokens: n, period });

type Server = AdminServer;

/** The real admin HTTP API over node:http on a MemoryStore or the local Redis, recording requests. */
const startServer = async (kind: StoreKind): Promise<Server> => startAdminServer(undefined, await makeLimiter(kind, { defaultLimits: [tokens(100_000)] }));

const spend = async (limiter: TokenLimiter, user: string, n: number) =>
  limiter.commit(await limiter.reserve(user, { tokens: n, model: 'gpt-4o-mini', provider: 'openai' }), { inputTokens: n, outputTokens: 0, model: 'gpt-4o-mini', provider: 'openai' });

describe.each<StoreKind>(['memory', 'redis'])('<TokenWidget /> for a member of a team (%s)', (kind) => {
  let server: Server;
  beforeAll(async () => {
    server = await startServer(kind);
    const { admin } = server.limiter;
    await admin.setAccountLimits('acme', [tokens(10_000, 'team-monthly')]);
    for (const user of ['ana', 'bia', 'caio']) await admin.setAccount(user, 'acme');
    await spend(server.limiter, 'ana', 4_000);
    await spend(server.limiter, 'bia', 4_500);
  });
  afterAll(() => server.close());

  it("shows the team's window when it has less left than the user's own, labelled as the team's (en)", async () => {
    // caio: 100,000 of his own left; the team 1,500 left.
    const { container } = render(<TokenWidget baseUrl={server.baseUrl} fetcher={server.as('caio')} refreshIntervalMs={0} />);
    const bar = await screen.findByRole('progressbar', { name: "Your team's limit: Token usage" });
    expect(bar.getAttribute('aria-valuetext')).toBe('8,500 of 10,000 tokens used');
    const widget = container.querySelector('.tl-widget')!;
    expect(widget.getAttribute('data-scope')).toBe('account');
    expect(widget.getAttribute('data-state')).toBe('warning');
    expect(text(widget.querySelector('.tl-widget__scope')!)).toBe("Your team's limit");
    expect(text(widget.querySelector('.tl-widget__remaining')!)).toBe('1,500 tokens left');
    expect(text(screen.getByRole('status'))).toBe('Your team has used 85% of its limit');
  });

  it("says the team's limit was reached when the team's window is spent (pt-BR), and the user's own when it binds", async () => {
    await spend(server.limiter, 'ana', 1_500);
    const { container, unmount } = render(<TokenWidget baseUrl={server.baseUrl} fetcher={server.as('caio')} locale="pt-BR" refreshIntervalMs={0} />);
    await screen.findByRole('progressbar', { name: 'Limite da sua equipe: Uso de tokens' });
    const widget = container.querySelector('.tl-widget')!;
    expect(widget.getAttribute('data-state')).toBe('exceeded');
    expect(text(widget.querySelector('.tl-widget__scope')!)).toBe('Limite da sua equipe');
    expect(text(screen.getByRole('status'))).toBe('O limite da sua equipe foi atingido: novas requisições de IA são recusadas até a renovação');
    unmount();

    // A member whose own rule is tighter than what the team has left sees their own window.
    await server.limiter.admin.setAccountLimits('acme', [tokens(1_000_000, 'team-monthly')]);
    await server.limiter.admin.setLimits('bia', [tokens(5_000)]);
    const own = render(<TokenWidget baseUrl={server.baseUrl} fetcher={server.as('bia')} refreshIntervalMs={0} />);
    const bar = await screen.findByRole('progressbar', { name: 'Token usage' });
    expect(bar.getAttribute('aria-valuetext')).toBe('4,500 of 5,000 tokens used');
    expect(own.container.querySelector('.tl-widget')!.getAttribute('data-scope')).toBe('user');
    expect(own.container.querySelector('.tl-widget__scope')).toBeNull();
    expect(text(screen.getByRole('status'))).toBe('You have used 90% of your limit');
  });

  it('a user in no team sees their own window, as before', async () => {
    await spend(server.limiter, 'solo', 10);
    const { container } = render(<TokenWidget baseUrl={server.baseUrl} fetcher={server.as('solo')} refreshIntervalMs={0} ruleId="team-monthly" />);
    await screen.findByRole('progressbar', { name: 'Token usage' });
    expect(container.querySelector('.tl-widget')!.getAttribute('data-scope')).toBe('user');
  });
});

describe('pickWindow', () => {
  const win = (ruleId: string, metric: 'tokens' | 'requests', limit: number, used: number, extra: Record<string, unknown> = {}) => ({
    ruleId,
    metric,
    rule: { id: ruleId, period: 'month' as const, [metric]: limit, ...extra },
    limit,
    used,
    reserved: 0,
    remaining: Math.max(0, limit - used),
    periodStart: '2026-05-01T00:00:00.000Z',
    resetAt: '2026-06-01T00:00:00.000Z',
  });
  const usage = (own: ReturnType<typeof win>[], team: ReturnType<typeof win>[] | null): UserUsageJson => ({
    userId: 'u',
    isActive: true,
    metric: own[0]!.metric,
    limit: own[0]!.limit,
    used: own[0]!.used,
    reserved: 0,
    remaining: own[0]!.remaining,
    periodStart: own[0]!.periodStart,
    resetAt: own[0]!.resetAt,
    windows: own,
    plan: null,
    account: team === null ? null : { accountId: 'acme', plan: null, windows: team },
  });

  it('compares what is left in the same unit, else the share used; ignores filtered team rules; honours ruleId', () => {
    const own = win('own', 'tokens', 1000, 100);
    expect(pickWindow(usage([own], null), undefined)).toEqual({ win: own, team: false });
    expect(pickWindow(usage([own], [win('t', 'tokens', 5000, 4500)]), undefined)).toMatchObject({ team: true, win: { ruleId: 't' } });
    expect(pickWindow(usage([own], [win('t', 'tokens', 5000, 3000)]), undefined)).toMatchObject({ team: false });
    // Requests against tokens: the larger share used binds (95% of requests against 10% of tokens).
    expect(pickWindow(usage([own], [win('rq', 'requests', 20, 19)]), undefined)).toMatchObject({ team: true, win: { ruleId: 'rq' } });
    expect(pickWindow(usage([own], [win('rq', 'requests', 20, 1)]), undefined)).toMatchObject({ team: false });
    // A team rule for some models only is not what binds every call.
    expect(pickWindow(usage([own], [win('premium', 'tokens', 100, 100, { models: ['gpt-4o*'] })]), undefined)).toMatchObject({ team: false });
    // ruleId may name a team rule.
    expect(pickWindow(usage([own], [win('t', 'tokens', 5000, 0)]), 't')).toMatchObject({ team: true, win: { ruleId: 't' } });
  });

  it("a member's share: their use of the rule with the team rule's unit and period, over the team's", () => {
    const team = win('team', 'tokens', 10_000, 8_000);
    expect(memberShare(usage([win('own', 'tokens', 5000, 2000)], null), team)).toBe(0.25);
    expect(memberShare(usage([win('own', 'requests', 50, 20)], null), team)).toBeUndefined();
    expect(memberShare(usage([win('own', 'tokens', 5000, 2000)], null), { ...team, used: 0 })).toBe(0);
    expect(memberShare(usage([win('own', 'tokens', 5000, 2000)], null), undefined)).toBeUndefined();
  });
});

describe.each<StoreKind>(['memory', 'redis'])('<AdminTokenPanel plansAndAccounts /> against the real admin API (%s)', (kind) => {
  let server: Server;
  beforeAll(async () => {
    server = await startServer(kind);
    const { admin } = server.limiter;
    await admin.setPlan('pro', [tokens(1_000_000, 'overall'), { id: 'premium', tokens: 100_000, period: 'month', models: ['gpt-4o*', 'o1*'] }]);
    await admin.setPlan('team', [tokens(50_000, 'team-monthly')]);
    await admin.setAccountLimits('acme', [tokens(10_000, 'team-monthly')]);
    for (const user of ['ana', 'bia', 'caio']) await admin.setAccount(user, 'acme');
    await spend(server.limiter, 'ana', 6_000);
    await spend(server.limiter, 'bia', 3_000);
    await spend(server.limiter, 'caio', 1_000);
    await admin.assignAccountPlan('beta', 'team');
    await spend(server.limiter, 'zoe', 5);
  });
  afterAll(() => server.close());

  const renderPanel = (props: Partial<Parameters<typeof AdminTokenPanel>[0]> = {}) =>
    render(<AdminTokenPanel baseUrl={server.baseUrl} fetcher={server.as('root', true)} refreshIntervalMs={0} timeZone="UTC" pageSize={50} plansAndAccounts {...props} />);
  const writes = () => server.requests.filter((r) => r.method !== 'GET');

  it('lists plans and teams; the members dialog pages with the cursor and shows each share of the team', async () => {
    renderPanel({ pageSize: 2 });
    const plans = await screen.findByRole('table', { name: 'Plans' });
    const pro = plans.querySelector('tr[data-plan-id="pro"]') as HTMLElement;
    expect([...pro.querySelectorAll('li')].map(text)).toEqual(['1,000,000 tokens per month', '100,000 tokens per month (gpt-4o*, o1*)']);
    expect([...pro.querySelectorAll('td.tl-num')].map(text)).toEqual(['0', '0']);
    expect([...(plans.querySelector('tr[data-plan-id="team"]') as HTMLElement).querySelectorAll('td.tl-num')].map(text)).toEqual(['0', '1']);

    const teams = await screen.findByRole('table', { name: 'Teams' });
    const acme = teams.querySelector('tr[data-account-id="acme"]') as HTMLElement;
    expect(text(acme)).toContain('No plan');
    expect(text(acme)).toContain('10,000 / 10,000 tokens per month · 100%');
    expect(within(acme).getByRole('progressbar', { name: 'Token usage: acme' }).getAttribute('aria-valuenow')).toBe('100');
    expect(text(acme.querySelector('td.tl-num')!)).toBe('3');
    const beta = teams.querySelector('tr[data-account-id="beta"]') as HTMLElement;
    expect(text(beta)).toContain('team');
    expect(text(beta)).toContain('0 / 50,000 tokens per month');

    await userEvent.click(within(acme).getByRole('button', { name: 'Members' }));
    const dialog = screen.getByRole('dialog', { name: 'Members of acme' });
    const rows = () => [...within(dialog).getByRole('table').querySelectorAll('tbody tr')].map((r) => [r.getAttribute('data-user-id'), text(r.querySelector('[data-testid="tl-member-share"]')!)]);
    await waitFor(() => expect(rows()).toEqual([['ana', '60%'], ['bia', '30%']]));
    expect(server.requests.some((r) => r.path === '/admin/api/accounts/acme/members?limit=2')).toBe(true);
    await userEvent.click(within(dialog).getByRole('button', { name: 'Next page' }));
    await waitFor(() => expect(rows()).toEqual([['caio', '10%']]));
    expect(server.requests.some((r) => r.path === '/admin/api/accounts/acme/members?cursor=bia&limit=2')).toBe(true);
    await userEvent.click(within(dialog).getByRole('button', { name: 'Close' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(writes()).toEqual([]);
  });

  it("assigns a plan to a user, edits a team's limits and assigns a team plan, through the API", async () => {
    server.requests.length = 0;
    await server.limiter.admin.setPlan('doomed', [tokens(1)]);
    renderPanel();
    const users = await screen.findByRole('table', { name: /^Users/ });
    await screen.findByRole('table', { name: 'Teams' });
    const zoe = users.querySelector('tr[data-user-id="zoe"]') as HTMLElement;
    await userEvent.click(within(zoe).getByRole('button', { name: 'Assign plan' }));
    let dialog = screen.getByRole('dialog', { name: 'Plan of zoe' });
    await waitFor(() => expect(within(dialog).getAllByRole('option').map(text)).toEqual(['No plan', 'doomed', 'pro', 'team']));
    await userEvent.selectOptions(within(dialog).getByRole('combobox', { name: 'Plan' }), 'pro');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(writes()).toEqual([{ method: 'PUT', path: '/admin/api/users/zoe/plan', body: { planId: 'pro' } }]);
    expect(await server.limiter.admin.getUsage('zoe')).toMatchObject({ plan: 'pro', limit: 1_000_000 });
    await waitFor(() => expect(text(screen.getByRole('table', { name: /^Users/ }).querySelector('tr[data-user-id="zoe"] th')!)).toContain('Plan: pro'));
    expect(text(screen.getByRole('table', { name: /^Users/ }).querySelector('tr[data-user-id="ana"] th')!)).toContain('Team: acme');

    const teams = screen.getByRole('table', { name: 'Teams' });
    await userEvent.click(within(teams.querySelector('tr[data-account-id="acme"]') as HTMLElement).getByRole('button', { name: 'Edit limits' }));
    dialog = screen.getByRole('dialog', { name: 'Limits of the team acme' });
    const amount = within(dialog).getByRole('spinbutton', { name: 'Limit' });
    await userEvent.clear(amount);
    await userEvent.type(amount, '20000');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(writes()[1]).toEqual({ method: 'PUT', path: '/admin/api/accounts/acme/limits', body: { rules: [{ id: 'team-monthly', period: 'month', tokens: 20_000 }] } });
    expect((await server.limiter.admin.getAccountUsage('acme')).windows[0]).toMatchObject({ limit: 20_000, used: 10_000 });
    await waitFor(() => expect(text(screen.getByRole('table', { name: 'Teams' }).querySelector('tr[data-account-id="acme"]')!)).toContain('10,000 / 20,000 tokens'));

    await userEvent.click(within(screen.getByRole('table', { name: 'Teams' }).querySelector('tr[data-account-id="acme"]') as HTMLElement).getByRole('button', { name: 'Assign plan' }));
    dialog = screen.getByRole('dialog', { name: 'Plan of acme' });
    await userEvent.selectOptions(within(dialog).getByRole('combobox', { name: 'Plan' }), 'team');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(writes()[2]).toEqual({ method: 'PUT', path: '/admin/api/accounts/acme/plan', body: { planId: 'team' } });
    expect((await server.limiter.admin.getAccountUsage('acme')).plan).toBeNull(); // its own rules still win
    await server.limiter.admin.setAccountLimits('acme', null);
    expect(await server.limiter.admin.getAccountUsage('acme')).toMatchObject({ plan: 'team', windows: [{ limit: 50_000, used: 10_000 }] });

    // An API refusal stays in the dialog: the plan picked was deleted meanwhile.
    await userEvent.click(within(screen.getByRole('table', { name: /^Users/ }).querySelector('tr[data-user-id="zoe"]') as HTMLElement).getByRole('button', { name: 'Assign plan' }));
    dialog = screen.getByRole('dialog', { name: 'Plan of zoe' });
    await userEvent.selectOptions(within(dialog).getByRole('combobox', { name: 'Plan' }), 'doomed');
    await server.limiter.admin.deletePlan('doomed');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    const alert = await within(dialog).findByRole('alert');
    expect(text(alert)).toBe('The action failed: Invalid value for "planId"');
    expect((await server.limiter.admin.getUsage('zoe')).plan).toBe('pro');
  });

  it('gives a team with no rules of its own a first rule to fill in, and takes its rules away again', async () => {
    await server.limiter.admin.setAccount('gus', 'gamma');
    server.requests.length = 0;
    renderPanel();
    const teams = await screen.findByRole('table', { name: 'Teams' });
    const gamma = () => screen.getByRole('table', { name: 'Teams' }).querySelector('tr[data-account-id="gamma"]') as HTMLElement;
    expect(text(teams.querySelector('tr[data-account-id="gamma"]')!)).toContain('No limits of its own');
    await userEvent.click(within(gamma()).getByRole('button', { name: 'Edit limits' }));
    let dialog = screen.getByRole('dialog', { name: 'Limits of the team gamma' });
    const amount = within(dialog).getByRole('spinbutton', { name: 'Limit' });
    expect((amount as HTMLInputElement).value).toBe('');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    expect(text(dialog)).toContain('Enter a limit');
    expect(writes()).toEqual([]);
    await userEvent.type(amount, '300');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(writes()).toEqual([{ method: 'PUT', path: '/admin/api/accounts/gamma/limits', body: { rules: [{ id: 'monthly', period: 'month', tokens: 300 }] } }]);
    await waitFor(() => expect(text(gamma())).toContain('0 / 300 tokens per month'));

    await userEvent.click(within(gamma()).getByRole('button', { name: 'Edit limits' }));
    dialog = screen.getByRole('dialog', { name: 'Limits of the team gamma' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'No limits of its own' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(writes()[1]).toEqual({ method: 'PUT', path: '/admin/api/accounts/gamma/limits', body: { rules: null } });
    expect(await server.limiter.admin.getAccountUsage('gamma')).toMatchObject({ windows: [], members: 1 });
    await waitFor(() => expect(text(gamma())).toContain('No limits of its own'));
  });

  it('speaks pt-BR in the plan and team views', async () => {
    renderPanel({ locale: 'pt-BR' });
    const plans = await screen.findByRole('table', { name: 'Planos' });
    expect(within(plans).getAllByRole('columnheader').map(text)).toEqual(['Plano', 'Regras', 'Usuários', 'Equipes']);
    expect(text(plans.querySelector('tr[data-plan-id="pro"] li')!)).toBe('1.000.000 tokens por mês');
    const teams = await screen.findByRole('table', { name: 'Equipes' });
    expect(within(teams).getAllByRole('columnheader').map(text)).toEqual(['Equipe', 'Plano', 'Uso atual', 'Membros', 'Ações']);
    const acme = teams.querySelector('tr[data-account-id="acme"]') as HTMLElement;
    await userEvent.click(within(acme).getByRole('button', { name: 'Membros' }));
    const dialog = screen.getByRole('dialog', { name: 'Membros de acme' });
    await waitFor(() => expect(within(dialog).getAllByRole('columnheader').map(text)).toEqual(['Usuário', 'Uso atual', 'Parte da equipe']));
    expect(within(acme).getByRole('button', { name: 'Editar limites' })).toBeTruthy();
    expect(within(acme).getByRole('button', { name: 'Atribuir plano' })).toBeTruthy();
  });

  it('without plansAndAccounts, asks nothing of the plan and account routes', async () => {
    server.requests.length = 0;
    renderPanel({ plansAndAccounts: false });
    await screen.findByRole('table', { name: /^Users/ });
    expect(screen.queryByRole('table', { name: 'Plans' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Assign plan' })).toBeNull();
    expect(server.requests.filter((r) => r.path.startsWith('/admin/api/plans') || r.path.startsWith('/admin/api/accounts'))).toEqual([]);
  });
});

describe('garbage answers of the plan and team routes show an error state and keep the rest', () => {
  const usage = (extra: Record<string, unknown> = {}) => {
    const w = { ruleId: 'monthly', metric: 'tokens', rule: tokens(100), limit: 100, used: 1, reserved: 0, remaining: 99, periodStart: '2026-05-01T00:00:00.000Z', resetAt: '2026-06-01T00:00:00.000Z' };
    return { userId: 'u', isActive: true, metric: 'tokens', limit: 100, used: 1, reserved: 0, remaining: 99, periodStart: w.periodStart, resetAt: w.resetAt, windows: [w], ...extra };
  };
  const answer = (body: unknown) => {
    const text = JSON.stringify(body);
    return { ok: true, status: 200, text: () => Promise.resolve(text) } as unknown as Response;
  };

  it.each([
    ['plans is {}', {}, { accounts: [], nextCursor: null }],
    ['a plan without rules', { plans: [{ planId: 'p', version: 1 }] }, { accounts: [], nextCursor: null }],
    ['an account id that is a number', { plans: [] }, { accounts: [{ accountId: 5, plan: null, windows: [] }], nextCursor: null }],
  ])('%s', async (_name, plans, accounts) => {
    const fetcher: Fetcher = async (url) => {
      const path = new URL(url, 'http://x').pathname.replace(/^\/admin\/api\//, '');
      if (path === 'plans') return answer(plans);
      if (path === 'accounts') return answer(accounts);
      if (path === 'users') return answer({ users: [usage()], nextCursor: null });
      if (path === 'stats') return answer({ totalTokens: 1, totalCostUsd: 0, activeUsers: 1, users: 1 });
      if (path === 'log') return answer({ records: [] });
      return answer({ granularity: 'day', from: '2026-05-01T00:00:00.000Z', to: '2026-05-20T00:00:00.000Z', points: [] });
    };
    render(<AdminTokenPanel fetcher={fetcher} refreshIntervalMs={0} plansAndAccounts />);
    const alert = await screen.findByRole('alert');
    expect(text(alert)).toMatch(/Could not load the usage data.*Unexpected response from the server/);
    expect(await screen.findByRole('table', { name: /^Users/ })).toBeTruthy();
  });

  it("the widget refuses a usage whose account is malformed, and shows an account's absence as before", async () => {
    const { unmount } = render(<TokenWidget fetcher={async () => answer(usage({ account: { accountId: 'a', plan: null, windows: 'all' } }))} refreshIntervalMs={0} />);
    expect(text(await screen.findByRole('alert'))).toMatch(/response\.account\.windows: expected an array/);
    unmount();
    // A server that predates plans sends neither plan nor account.
    render(<TokenWidget fetcher={async () => answer(usage())} refreshIntervalMs={0} />);
    expect(await screen.findByRole('progressbar', { name: 'Token usage' })).toBeTruthy();
  });
});

describe('<MembersDialog /> of one API', () => {
  const account: AccountUsageJson = { accountId: 'acme', plan: null, windows: [], members: 1 };
  const membersOf = (userId: string) => json({ accountId: 'acme', members: [usageJson({ used: 1, limit: 10, userId })], nextCursor: null });
  const shownMembers = () => [...screen.getByRole('dialog').querySelectorAll('tbody tr')].map((r) => r.getAttribute('data-user-id'));

  it("loads another API's members when baseUrl changes, never showing the previous API's as its own", async () => {
    let answerB!: () => void;
    const bAnswered = new Promise<void>((resolve) => (answerB = resolve));
    const a = createApiClient({ baseUrl: 'https://a.example/admin/api', fetcher: async () => membersOf('ana') });
    const bRequests: string[] = [];
    const b = createApiClient({
      baseUrl: 'https://b.example/admin/api',
      fetcher: async (url) => {
        bRequests.push(url);
        await bAnswered;
        return membersOf('bob');
      },
    });
    const dialog = (client: ApiClient, baseUrl: string) => (
      <MembersDialog account={account} client={client} baseUrl={baseUrl} locale="en" pageSize={20} warningThreshold={0.8} onClose={() => {}} />
    );
    const { rerender } = render(dialog(a, 'https://a.example/admin/api'));
    await waitFor(() => expect(shownMembers()).toEqual(['ana']));
    rerender(dialog(b, 'https://b.example/admin/api'));
    expect(shownMembers()).toEqual([]); // b's page is loading: a's members are not shown as b's
    expect(within(screen.getByRole('dialog')).getByText('Loading…')).toBeTruthy();
    await waitFor(() => expect(bRequests).toEqual(['https://b.example/admin/api/accounts/acme/members?limit=20']));
    await act(async () => answerB());
    await waitFor(() => expect(shownMembers()).toEqual(['bob']));
  });
});

describe('"Assign plan" opened while the plans load', () => {
  it('shows the current plan of the user or team at once, and once the plans arrive', async () => {
    let answerPlans!: () => void;
    const plansAnswered = new Promise<void>((resolve) => (answerPlans = resolve));
    const writes: Array<{ url: string; body: unknown }> = [];
    const fetcher: Fetcher = async (url, init) => {
      if (init.method !== 'GET') {
        writes.push({ url, body: JSON.parse(String(init.body)) });
        return json({ ...usageJson({ used: 1, limit: 10, userId: 'x' }), plan: 'pro' });
      }
      if (url.includes('/stats')) return json({ totalTokens: 1, totalCostUsd: 0, activeUsers: 1, users: 1 });
      if (url.includes('/history')) return json({ granularity: 'day', from: '2026-05-01T00:00:00.000Z', to: '2026-05-20T00:00:00.000Z', points: [] });
      if (url.includes('/users?')) return json({ users: [{ ...usageJson({ used: 1, limit: 10, userId: 'x' }), plan: 'pro' }], nextCursor: null });
      if (url.includes('/log?')) return json({ records: [] });
      if (url.includes('/accounts?')) return json({ accounts: [{ accountId: 'acme', plan: 'team', windows: [], members: 0 }], nextCursor: null });
      await plansAnswered; // GET /plans answers when the test says
      return json({ plans: ['free', 'pro', 'team'].map((planId) => ({ planId, version: 1, rules: [] })) });
    };
    render(<AdminTokenPanel fetcher={fetcher} refreshIntervalMs={0} plansAndAccounts />);
    const select = (name: string) => within(screen.getByRole('dialog', { name })).getByRole('combobox', { name: 'Plan' }) as HTMLSelectElement;
    const options = (s: HTMLSelectElement) => [...s.options].map((o) => o.value);

    const teams = await screen.findByRole('table', { name: 'Teams' });
    await userEvent.click(within(teams).getByRole('button', { name: 'Assign plan' }));
    expect(select('Plan of acme').value).toBe('team');
    await userEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Cancel' }));

    await userEvent.click(within(screen.getByRole('table', { name: /^Users/ })).getByRole('button', { name: 'Assign plan' }));
    expect(select('Plan of x').value).toBe('pro');
    expect(options(select('Plan of x'))).toEqual(['', 'pro']);
    await act(async () => answerPlans());
    await waitFor(() => expect(options(select('Plan of x'))).toEqual(['', 'free', 'pro', 'team']));
    expect(select('Plan of x').value).toBe('pro');
    expect(text(select('Plan of x').selectedOptions[0]!)).toBe('pro');
    await userEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(writes).toEqual([{ url: '/admin/api/users/x/plan', body: { planId: 'pro' } }]);
  });
});
