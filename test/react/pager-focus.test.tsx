// @vitest-environment jsdom
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminTokenPanel } from '../../src/react/index.js';
import { charge, startAdminServer, type AdminServer } from './helpers.js';

describe('<AdminTokenPanel /> pager and the keyboard', () => {
  let server: AdminServer;
  beforeAll(async () => {
    server = await startAdminServer();
    for (const user of ['pa', 'pb', 'pc']) await charge(server.limiter, user, { input: 10, output: 0 });
  });
  afterAll(() => server.close());

  it('keeps the focus on Next page while its page loads and on the last page (no focused button gets disabled)', async () => {
    render(<AdminTokenPanel baseUrl={server.baseUrl} fetcher={server.as('root', true)} refreshIntervalMs={0} pageSize={2} logLimit={0} />);
    const userIds = () => [...screen.getByRole('table', { name: /^Users/ }).querySelectorAll('tbody tr')].map((r) => r.getAttribute('data-user-id'));
    await waitFor(() => expect(userIds()).toEqual(['pa', 'pb']));
    const next = screen.getByRole('button', { name: 'Next page' });
    next.focus();
    await userEvent.keyboard('{Enter}');
    // While the page loads, and once it is the last one, Next does nothing but stays focusable:
    // a focused button that becomes disabled drops the focus to the page's body in browsers.
    expect(next).toHaveProperty('disabled', false);
    expect(next.getAttribute('aria-disabled')).toBe('true');
    await waitFor(() => expect(userIds()).toEqual(['pc']));
    expect(document.activeElement).toBe(next);
    expect(next).toHaveProperty('disabled', false);
    expect(next.getAttribute('aria-disabled')).toBe('true');

    // Pressing it there sends nothing; Previous goes back, and is inert on the first page.
    const before = server.requests.length;
    await userEvent.keyboard('{Enter}');
    expect(server.requests.length).toBe(before);
    const previous = screen.getByRole('button', { name: 'Previous page' });
    previous.focus();
    await userEvent.keyboard('{Enter}');
    await waitFor(() => expect(userIds()).toEqual(['pa', 'pb']));
    expect(document.activeElement).toBe(previous);
    expect(previous).toHaveProperty('disabled', false);
    expect(previous.getAttribute('aria-disabled')).toBe('true');
  });
});
