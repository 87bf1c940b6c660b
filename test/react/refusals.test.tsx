// @vitest-environment jsdom
import { render, screen, within } from '@testing-library/react';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenLimitExceededError, UserDisabledError } from '../../src/index.js';
import { TokenDashboard } from '../../src/react/index.js';
import { waitFor } from '../support/wait.js';
import { charge, startAdminServer, type AdminServer } from './helpers.js';

const text = (el: Element) => (el.textContent ?? '').replace(/\u00a0/g, ' ');

/**
 * Refused calls in "Latest calls": the admin API's `GET /me/refusals` and `GET /users/:id/refusals`
 * serve what the limiter kept, and the dashboard shows each refusal among the calls with the rule
 * that refused it (nothing charged: dashes), in en and pt-BR.
 */
describe('refused calls in the latest calls, through the real admin API', () => {
  let server: AdminServer;
  beforeAll(async () => {
    server = await startAdminServer([{ id: 'monthly', tokens: 1_000, period: 'month' }]);
    await charge(server.limiter, 'carol', { input: 600, output: 0, model: 'gpt-4o-mini' });
    await expect(server.limiter.reserve('carol', { tokens: 900, model: 'gpt-4o', provider: 'openai' })).rejects.toBeInstanceOf(TokenLimitExceededError);
    await server.limiter.admin.setActive('dave', false);
    await expect(server.limiter.reserve('dave', { tokens: 1, model: 'gpt-4o-mini' })).rejects.toBeInstanceOf(UserDisabledError);
    for (const user of ['carol', 'dave']) {
      await waitFor(async () => ((await server.limiter.admin.getRefusals(user)).length === 1 ? true : undefined), { timeoutMs: 5000, what: `${user}'s refusal` });
    }
  });
  afterAll(() => server.close());

  it('GET /me/refusals answers the signed-in user\'s refusals; /users/:id/refusals is for admins only', async () => {
    const mine = await server.as('carol')(`${server.baseUrl}/me/refusals`, { method: 'GET' });
    expect(mine.status).toBe(200);
    const body = (await mine.json()) as { refusals: Array<Record<string, unknown>> };
    expect(body.refusals).toHaveLength(1);
    expect(body.refusals[0]).toMatchObject({ userId: 'carol', reason: 'limit', ruleId: 'monthly', scope: 'user', metric: 'tokens', requested: 900, model: 'gpt-4o', provider: 'openai' });
    expect(typeof body.refusals[0]!.timestamp).toBe('string');
    expect((await server.as('carol')(`${server.baseUrl}/users/dave/refusals`, { method: 'GET' })).status).toBe(403);
    const admin = await server.as('root', true)(`${server.baseUrl}/users/dave/refusals?limit=5`, { method: 'GET' });
    expect(((await admin.json()) as { refusals: unknown[] }).refusals).toEqual([expect.objectContaining({ userId: 'dave', reason: 'disabled' })]);
    expect((await server.as('root', true)(`${server.baseUrl}/users/dave/refusals?limit=21`, { method: 'GET' })).status).toBe(400);
  });

  it('the dashboard shows a refusal among the calls, with the rule that refused it', async () => {
    const { container } = render(<TokenDashboard baseUrl={server.baseUrl} fetcher={server.as('carol')} refreshIntervalMs={0} timeZone="UTC" />);
    const table = await screen.findByRole('table', { name: 'Latest calls' });
    const refused = table.querySelector('tr[data-refused="true"]')!;
    expect(refused).toBeTruthy();
    expect(text(refused)).toContain('gpt-4o');
    expect(text(within(refused as HTMLElement).getByText('Refused').parentElement!)).toBe('Refused by rule monthly');
    // The refusal is the newest row; the charged call follows, and the status column is shown.
    const rows = [...table.querySelectorAll('tbody tr')];
    expect(rows).toHaveLength(2);
    expect(rows[0]).toBe(refused);
    expect(within(table).getByRole('columnheader', { name: 'Status' })).toBeTruthy();
    container.remove();
  });

  it('in pt-BR, and for a disabled user', async () => {
    render(<TokenDashboard baseUrl={server.baseUrl} fetcher={server.as('carol')} refreshIntervalMs={0} timeZone="UTC" locale="pt-BR" />);
    const table = await screen.findByRole('table', { name: 'Últimas chamadas' });
    expect(text(table.querySelector('tr[data-refused="true"] td:last-child')!)).toBe('Recusada pela regra monthly');
    const dave = render(<TokenDashboard baseUrl={server.baseUrl} fetcher={server.as('dave')} refreshIntervalMs={0} timeZone="UTC" />);
    const daveTable = await within(dave.container).findByRole('table', { name: 'Latest calls' });
    expect(text(daveTable.querySelector('tr[data-refused="true"] td:last-child')!)).toBe('Refused because AI features are disabled');
  });
});
