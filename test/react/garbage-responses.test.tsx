// @vitest-environment jsdom
import { render, screen } from '@testing-library/react';
import type { ReactNode } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { AdminTokenPanel, TokenDashboard, TokenWidget, type Fetcher } from '../../src/react/index.js';
import { json, usageJson, usageRecordJson } from './helpers.js';

/**
 * What a broken proxy, an older or newer server, or a bug can answer with a 200. Each component must
 * show its error state for it and leave the rest of the page alone (a render that throws would make
 * React unmount the whole tree, the host app included).
 */

const usage = () => usageJson({ used: 1500, limit: 100_000 });
const point = { time: '2026-05-03T00:00:00.000Z', model: 'gpt-4o-mini', requests: 1, inputTokens: 10, outputTokens: 2, totalTokens: 12, costUsd: 0.01 };
const history = () => ({ granularity: 'day', from: '2026-05-01T00:00:00.000Z', to: '2026-06-01T00:00:00.000Z', points: [point] });
const record = usageRecordJson();
const log = () => ({ records: [record] });
const stats = () => ({ totalTokens: 12, totalCostUsd: 0.01, activeUsers: 1, users: 1 });
const usersPage = () => ({ users: [usage()], nextCursor: null });

type Endpoint = 'me/usage' | 'me/history' | 'me/log' | 'stats' | 'history' | 'users';

const VALID: Record<Endpoint, () => unknown> = {
  'me/usage': usage,
  'me/history': history,
  'me/log': log,
  stats,
  history,
  users: usersPage,
};

const withBadWindow = (u: ReturnType<typeof usage>, change: Record<string, unknown>) => ({ ...u, ...change, windows: [{ ...u.windows[0], ...change }] });

/** Per endpoint: an unknown enum value ("status") and an invalid timestamp, beside null, [] and {}. */
const ODD: Record<Endpoint, { unknownStatus: unknown; invalidTimestamp: unknown }> = {
  'me/usage': { unknownStatus: withBadWindow(usage(), { metric: 'bananas' }), invalidTimestamp: withBadWindow(usage(), { resetAt: 'not a date' }) },
  'me/history': { unknownStatus: { ...history(), granularity: 'fortnight' }, invalidTimestamp: { ...history(), points: [{ ...point, time: '2026-13-45T99:99:99Z' }] } },
  'me/log': { unknownStatus: { records: [{ ...record, status: 'exploded' }] }, invalidTimestamp: { records: [{ ...record, timestamp: 'yesterday' }] } },
  stats: { unknownStatus: { ...stats(), users: 'many' }, invalidTimestamp: { ...stats(), activeUsers: '2026-05-03T10:00:00.000Z' } },
  history: { unknownStatus: { ...history(), granularity: 'fortnight' }, invalidTimestamp: { ...history(), from: 'last month' } },
  users: {
    unknownStatus: { users: [{ ...usage(), isActive: 'perhaps' }], nextCursor: null },
    invalidTimestamp: { users: [withBadWindow(usage(), { periodStart: '' })], nextCursor: null },
  },
};

const SHAPES = ['null', '[]', '{}', 'unknownStatus', 'invalidTimestamp'] as const;
type Shape = (typeof SHAPES)[number];

function garbage(endpoint: Endpoint, shape: Shape): unknown {
  if (shape === 'null') return null;
  if (shape === '[]') return [];
  if (shape === '{}') return {};
  return ODD[endpoint][shape];
}

/** Answers `bad` for one endpoint and a valid body for every other. */
function fetcherWith(bad: Endpoint, body: unknown): Fetcher {
  return async (url) => {
    const endpoint = new URL(url, 'http://x').pathname.replace(/^\/admin\/api\//, '') as Endpoint;
    return json(endpoint === bad ? body : VALID[endpoint]());
  };
}

/** The host app: the component beside content of its own. */
function Page({ children }: { children: ReactNode }) {
  return (
    <main>
      <p data-testid="sibling">The rest of the page</p>
      {children}
    </main>
  );
}

async function expectErrorStateAndPageAlive(): Promise<void> {
  const alerts = await screen.findAllByRole('alert');
  expect(alerts.map((a) => a.textContent).join(' ')).toMatch(/Could not load the usage data.*Unexpected response from the server|Expected a JSON response/);
  expect(screen.getByTestId('sibling').textContent).toBe('The rest of the page');
}

const cases = (endpoints: readonly Endpoint[]) => endpoints.flatMap((endpoint) => SHAPES.map((shape) => ({ endpoint, shape })));

describe('<TokenWidget /> on a garbage answer shows its error state and keeps the page', () => {
  it.each(cases(['me/usage']))('$endpoint answers $shape', async ({ endpoint, shape }) => {
    const { container } = render(
      <Page>
        <TokenWidget fetcher={fetcherWith(endpoint, garbage(endpoint, shape))} refreshIntervalMs={0} />
      </Page>,
    );
    await expectErrorStateAndPageAlive();
    expect(container.querySelector('.tl-widget')?.getAttribute('data-state')).toBe('error');
  });
});

describe('<TokenDashboard /> on a garbage answer shows its error state and keeps the page', () => {
  it.each(cases(['me/usage', 'me/history', 'me/log']))('$endpoint answers $shape', async ({ endpoint, shape }) => {
    render(
      <Page>
        <TokenDashboard fetcher={fetcherWith(endpoint, garbage(endpoint, shape))} refreshIntervalMs={0} timeZone="UTC" />
      </Page>,
    );
    await expectErrorStateAndPageAlive();
    expect(screen.queryByRole('table', { name: 'Latest calls' })).toBeNull();
  });
});

describe('<AdminTokenPanel /> on a garbage answer shows its error state and keeps the page', () => {
  it.each(cases(['stats', 'history', 'users']))('$endpoint answers $shape', async ({ endpoint, shape }) => {
    render(
      <Page>
        <AdminTokenPanel fetcher={fetcherWith(endpoint, garbage(endpoint, shape))} refreshIntervalMs={0} timeZone="UTC" />
      </Page>,
    );
    await expectErrorStateAndPageAlive();
    // The part fed valid answers still shows.
    if (endpoint === 'users') expect(await screen.findByRole('figure')).toBeTruthy();
    else expect(await screen.findByRole('table', { name: /^Users/ })).toBeTruthy();
  });
});

describe('a render error stays inside the component', () => {
  const valid: Fetcher = async (url) => json(VALID[new URL(url, 'http://x').pathname.replace(/^\/admin\/api\//, '') as Endpoint]());
  it.each([
    ['TokenWidget', <TokenWidget key="w" fetcher={valid} refreshIntervalMs={0} timeZone="Mars/Olympus_Mons" />],
    ['TokenDashboard', <TokenDashboard key="d" fetcher={valid} refreshIntervalMs={0} timeZone="Mars/Olympus_Mons" />],
    ['AdminTokenPanel', <AdminTokenPanel key="a" fetcher={valid} refreshIntervalMs={0} timeZone="Mars/Olympus_Mons" />],
  ])('%s with an unknown timeZone prop shows its error state and keeps the page', async (_name, element) => {
    // React reports an error a boundary caught on console.error: keep it out of the test output.
    const reported = vi.spyOn(console, 'error').mockImplementation(() => {});
    render(<Page>{element}</Page>);
    const alert = await screen.findByRole('alert');
    expect(reported.mock.calls.flat().some((a) => a instanceof RangeError)).toBe(true);
    reported.mockRestore();
    expect(alert.textContent).toMatch(/Could not load the usage data/);
    expect(alert.closest('section')?.getAttribute('data-state')).toBe('error');
    expect(screen.getByTestId('sibling').textContent).toBe('The rest of the page');
  });

  it('renders again, without Retry, once the prop that failed is corrected', async () => {
    const reported = vi.spyOn(console, 'error').mockImplementation(() => {});
    const { rerender } = render(<TokenWidget fetcher={valid} refreshIntervalMs={0} timeZone="Mars/Olympus_Mons" />);
    await screen.findByRole('alert');
    reported.mockRestore();
    rerender(<TokenWidget fetcher={valid} refreshIntervalMs={0} timeZone="America/Sao_Paulo" />);
    expect(await screen.findByRole('progressbar')).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull();
  });
});
