// @vitest-environment jsdom
import { render, screen } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AdminTokenPanel, TokenDashboard } from '../../src/react/index.js';
import { charge, NOW, startAdminServer, type AdminServer } from './helpers.js';

// Count props read from a URL or a form: `Number('')` is 0, `Number('abc')` is NaN.
describe('count props that are not numbers fall back to their defaults', () => {
  let server: AdminServer;
  beforeAll(async () => {
    server = await startAdminServer();
  });
  afterAll(() => server.close());
  beforeEach(async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: NOW });
    await charge(server.limiter, 'ana', { input: 10, output: 2 });
    server.requests.length = 0;
  });
  afterEach(() => vi.useRealTimers());

  it('AdminTokenPanel pageSize, logLimit and historyDays', async () => {
    render(<AdminTokenPanel baseUrl={server.baseUrl} fetcher={server.as('root', true)} refreshIntervalMs={0} pageSize={Number('abc')} logLimit={Number.NaN} historyDays={Number.NaN} />);
    const users = await screen.findByRole('table', { name: /^Users/ });
    expect(users.querySelector('tbody tr[data-user-id="ana"]')).not.toBeNull();
    expect(await screen.findByRole('table', { name: 'Latest calls of all users' })).toBeTruthy();
    expect(await screen.findByText('Usage of all users, last 30 days')).toBeTruthy();
    const paths = server.requests.map((r) => r.path);
    expect(paths).toContain('/admin/api/users?limit=20');
    expect(paths).toContain('/admin/api/log?limit=20');
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('TokenDashboard logLimit', async () => {
    render(<TokenDashboard baseUrl={server.baseUrl} fetcher={server.as('ana')} refreshIntervalMs={0} logLimit={Number.NaN} />);
    expect(await screen.findByRole('table', { name: 'Latest calls' })).toBeTruthy();
    expect(server.requests.map((r) => r.path)).toContain('/admin/api/me/log?limit=10');
    expect(screen.queryByRole('alert')).toBeNull();
  });
});
