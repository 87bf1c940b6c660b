// @vitest-environment jsdom
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { TokenWidget, type Fetcher } from '../../src/react/index.js';
import { json, usageJson } from './helpers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('polling after failed loads', () => {
  it('waits twice as long after each failure in a row, and polls at its interval again after a success', async () => {
    let calls = 0;
    let down = true;
    const fetcher: Fetcher = () => {
      calls += 1;
      return Promise.resolve(down ? json({ error: 'store_unavailable', message: 'The store is unavailable' }, 503) : json(usageJson({ used: 1, limit: 100 })));
    };
    render(<TokenWidget fetcher={fetcher} refreshIntervalMs={250} />);
    await screen.findByRole('alert');
    // Loads at 0, then after 500 ms, 1000 ms, 2000 ms...: 3 by 1.9 s (8 at a flat 250 ms).
    await sleep(1900);
    expect(calls).toBe(3);

    // Retry loads at once; a success brings the interval back.
    down = false;
    await userEvent.click(screen.getByRole('button', { name: 'Retry' }));
    await screen.findByRole('progressbar');
    const after = calls;
    await sleep(900);
    expect(calls - after).toBeGreaterThanOrEqual(3);
  });
});
