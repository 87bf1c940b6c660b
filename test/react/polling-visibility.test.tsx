// @vitest-environment jsdom
import { act, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TokenWidget, type Fetcher } from '../../src/react/index.js';
import { json, usageJson } from './helpers.js';

const visibility = (state: 'hidden' | 'visible') => {
  vi.spyOn(document, 'visibilityState', 'get').mockReturnValue(state);
  act(() => {
    document.dispatchEvent(new Event('visibilitychange'));
  });
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A widget polling every second; each load answers its own number as the usage, `calls()` counts them. */
function pollingWidget(): { calls: () => number } {
  let calls = 0;
  const fetcher: Fetcher = () => {
    calls += 1;
    return Promise.resolve(json(usageJson({ used: calls, limit: 100 })));
  };
  render(<TokenWidget fetcher={fetcher} refreshIntervalMs={1000} />);
  return { calls: () => calls };
}

describe('polling and the page visibility', () => {
  afterEach(() => vi.restoreAllMocks());

  it('loads as soon as the page is shown again after a poll was skipped', async () => {
    const widget = pollingWidget();
    await screen.findByRole('progressbar');
    expect(widget.calls()).toBe(1);

    visibility('hidden');
    await sleep(1300); // the poll at 1 s is skipped
    expect(widget.calls()).toBe(1);

    visibility('visible');
    await sleep(100); // not the next poll, at 2 s
    expect(widget.calls()).toBe(2);
    expect(screen.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('2');
  });

  it('does not load on being shown when no poll was missed', async () => {
    const widget = pollingWidget();
    await screen.findByRole('progressbar');
    visibility('hidden');
    visibility('visible');
    await sleep(100);
    expect(widget.calls()).toBe(1);
  });
});
