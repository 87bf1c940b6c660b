// @vitest-environment jsdom
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { AdminTokenPanel, type Fetcher } from '../../src/react/index.js';
import { json, usageJson } from './helpers.js';

/**
 * A mocked admin API whose writes (PUT, POST) wait until `release()` is called, so a test can act
 * while an admin action is in flight.
 */
function slowWritesApi() {
  const writes: string[] = [];
  let release: (status?: number) => void = () => undefined;
  const fetcher: Fetcher = (url, init) => {
    const path = new URL(url, 'http://localhost').pathname;
    if (init.method === 'POST' || init.method === 'PUT') {
      writes.push(`${init.method} ${path}`);
      return new Promise((resolve) => {
        release = (status = 200) =>
          status !== 200 ? resolve(json({ error: 'store_unavailable', message: 'The store is unavailable' }, status)) : resolve(json(path.endsWith('/limits') ? { userId: 'ana', rules: [{ id: 'monthly', period: 'month', tokens: 10 }] } : usageJson({ used: 1, limit: 10, userId: 'ana', isActive: false })));
      });
    }
    if (path.endsWith('/users')) return Promise.resolve(json({ users: [usageJson({ used: 1, limit: 10, userId: 'ana' })], nextCursor: null }));
    if (path.endsWith('/stats')) return Promise.resolve(json({ totalTokens: 1, totalCostUsd: 0, activeUsers: 1, users: 1 }));
    if (path.endsWith('/history')) return Promise.resolve(json({ granularity: 'day', from: '2026-05-01T00:00:00.000Z', to: '2026-05-20T00:00:00.000Z', points: [] }));
    return Promise.resolve(json({ records: [] }));
  };
  return { fetcher, writes, release: (status?: number) => release(status) };
}

describe('<AdminTokenPanel /> dialogs while their action is in flight', () => {
  it('a confirmed action cannot be "cancelled": Cancel is disabled and Escape keeps the dialog open', async () => {
    const api = slowWritesApi();
    render(<AdminTokenPanel fetcher={api.fetcher} refreshIntervalMs={0} logLimit={0} />);
    const table = await screen.findByRole('table', { name: /^Users/ });
    await userEvent.click(within(table).getByRole('button', { name: 'Disable' }));
    const dialog = screen.getByRole('alertdialog', { name: 'Disable' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Disable' }));
    await waitFor(() => expect(api.writes).toEqual(['POST /admin/api/users/ana/disable']));

    expect(within(dialog).getByRole('button', { name: 'Cancel' }).getAttribute('aria-disabled')).toBe('true');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    await userEvent.keyboard('{Escape}');
    expect(screen.getByRole('alertdialog', { name: 'Disable' })).toBe(dialog);

    api.release();
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
  });

  it('the edit-limits dialog stays open while its rules are being saved', async () => {
    const api = slowWritesApi();
    render(<AdminTokenPanel fetcher={api.fetcher} refreshIntervalMs={0} logLimit={0} />);
    const table = await screen.findByRole('table', { name: /^Users/ });
    await userEvent.click(within(table).getByRole('button', { name: 'Edit limit' }));
    const dialog = screen.getByRole('dialog');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(api.writes).toEqual(['PUT /admin/api/users/ana/limits']));

    expect(within(dialog).getByRole('button', { name: 'Cancel' }).getAttribute('aria-disabled')).toBe('true');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    await userEvent.keyboard('{Escape}');
    expect(screen.getByRole('dialog')).toBe(dialog);

    api.release();
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
  });

  it('keeps the focus in the dialog while the action runs and after it fails (no focused button gets disabled)', async () => {
    const api = slowWritesApi();
    render(<AdminTokenPanel fetcher={api.fetcher} refreshIntervalMs={0} logLimit={0} />);
    const table = await screen.findByRole('table', { name: /^Users/ });
    await userEvent.click(within(table).getByRole('button', { name: 'Disable' }));
    const dialog = screen.getByRole('alertdialog', { name: 'Disable' });
    const confirm = within(dialog).getByRole('button', { name: 'Disable' });
    await userEvent.click(confirm);
    await waitFor(() => expect(api.writes).toHaveLength(1));
    // A focused element that becomes disabled loses the focus in browsers: none may be.
    expect(document.activeElement).toBe(confirm);
    expect(confirm).toHaveProperty('disabled', false);
    expect(confirm.getAttribute('aria-disabled')).toBe('true');
    // A second click while the first is in flight sends nothing.
    await userEvent.click(confirm);
    expect(api.writes).toHaveLength(1);

    api.release(503);
    await within(dialog).findByRole('alert');
    expect(document.activeElement).toBe(confirm);
    expect(confirm.getAttribute('aria-disabled')).toBe('false');
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('alertdialog')).toBeNull();
  });
});
