// @vitest-environment jsdom
import { screen, render, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { AdminTokenPanel, type Fetcher } from '../../src/react/index.js';
import { json, usageJson } from './helpers.js';

/** A mocked admin API that records the URLs it is asked for. */
function adminApi(): { fetcher: Fetcher; urls: string[] } {
  const urls: string[] = [];
  const fetcher: Fetcher = (url) => {
    urls.push(url);
    const path = new URL(url, 'http://localhost').pathname;
    if (path.endsWith('/users')) {
      const prefix = new URL(url, 'http://localhost').searchParams.get('prefix') ?? '';
      return Promise.resolve(json({ users: [usageJson({ used: 1, limit: 10, userId: `${prefix}x` })], nextCursor: null }));
    }
    if (path.endsWith('/stats')) return Promise.resolve(json({ totalTokens: 1, totalCostUsd: 0, activeUsers: 1, users: 1 }));
    if (path.endsWith('/history')) return Promise.resolve(json({ granularity: 'day', from: '2026-05-01T00:00:00.000Z', to: '2026-05-20T00:00:00.000Z', points: [] }));
    return Promise.resolve(json({ records: [] }));
  };
  return { fetcher, urls };
}

describe('<AdminTokenPanel /> search box', () => {
  it('asks the server once the typing pauses, not once per keystroke', async () => {
    const { fetcher, urls } = adminApi();
    render(<AdminTokenPanel fetcher={fetcher} refreshIntervalMs={0} logLimit={0} />);
    await screen.findByRole('table', { name: /^Users/ });
    urls.length = 0;
    await userEvent.type(screen.getByRole('searchbox', { name: 'Find users' }), 'alice-smith');
    await waitFor(() => expect(screen.getByRole('table', { name: /^Users/ }).querySelector('tbody tr')?.getAttribute('data-user-id')).toBe('alice-smithx'));
    // Let any late request of a keystroke show up before counting.
    await new Promise((resolve) => setTimeout(resolve, 400));
    const searches = urls.filter((u) => u.includes('/users'));
    expect(searches).toEqual(['/admin/api/users?limit=20&prefix=alice-smith']);
  });
});
