// @vitest-environment jsdom
import { render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UsersTable } from '../../src/react/admin/users-table.js';
import type { UserUsageJson } from '../../src/react/api.js';
import { formatUsed } from '../../src/react/format.js';
import { TokenWidget, type Fetcher } from '../../src/react/index.js';
import { json, NOW, usageJson } from './helpers.js';

const text = (el: Element) => (el.textContent ?? '').replace(/[\u00a0\u202f]/g, ' ');

function renderTable(users: UserUsageJson[], locale: string, timeZone: string | undefined) {
  return render(
    <UsersTable users={users} locale={locale} timeZone={timeZone} warningThreshold={0.8} sort={null} onSort={() => undefined} onAction={() => undefined} />,
  );
}

describe('used amounts never read as the limit before they reach it', () => {
  it('rounds a used amount down at the precision shown, exactly (en and pt-BR)', () => {
    expect(formatUsed('en', 'costUsd', 0.999999)).toBe('$0.9999');
    expect(formatUsed('en', 'costUsd', 24.999)).toBe('$24.99');
    expect(formatUsed('en', 'costUsd', 0.0099999)).toBe('$0.0099');
    // A decimal that is not exact in binary is not pushed one cent down (0.29 * 100 is 28.99...).
    expect(formatUsed('en', 'costUsd', 0.29)).toBe('$0.29');
    expect(formatUsed('en', 'costUsd', 1.13)).toBe('$1.13');
    expect(formatUsed('en', 'costUsd', 0.000281)).toBe('$0.00028');
    expect(formatUsed('en', 'costUsd', 1)).toBe('$1.00');
    expect(formatUsed('en', 'costUsd', 0)).toBe('$0.00');
    expect(formatUsed('en', 'tokens', 99_999.999)).toBe('99,999.99');
    expect(formatUsed('en', 'tokens', 99_999)).toBe('99,999');
    expect(text({ textContent: formatUsed('pt-BR', 'costUsd', 0.999999) } as Element)).toBe('US$ 0,9999');
    expect(text({ textContent: formatUsed('pt-BR', 'costUsd', 99.999) } as Element)).toBe('US$ 99,99');
  });

  describe('in <TokenWidget />', () => {
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ['Date'], now: NOW });
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    const widget = async (used: number, limit: number, locale: string) => {
      const fetcher: Fetcher = () => Promise.resolve(json(usageJson({ used, limit, metric: 'costUsd' })));
      const view = render(<TokenWidget fetcher={fetcher} refreshIntervalMs={0} locale={locale} />);
      const bar = await screen.findByRole('progressbar');
      const root = view.container.querySelector('.tl-widget')!;
      return { view, bar, root, part: (name: string) => text(root.querySelector(`.tl-widget__${name}`)!) };
    };

    it('shows $0.999999 of a $1 limit as $0.9999 / $1.00, 99% used, with some left (en)', async () => {
      const { bar, root, part } = await widget(0.999999, 1, 'en');
      expect(part('used')).toBe('$0.9999 / $1.00');
      expect(part('percent')).toBe('99% used');
      expect(part('remaining')).toBe('$0.000001 left');
      expect(bar.getAttribute('aria-valuetext')).toBe('$0.9999 of $1.00 used');
      expect(bar.getAttribute('aria-valuenow')).toBe('99');
      // Nor is the bar drawn full.
      expect((root.querySelector('.tl-progress__fill') as HTMLElement).style.width).toBe('99%');
      expect(root.getAttribute('data-state')).toBe('warning');
    });

    it('shows $0.999999 of a $1 limit as US$ 0,9999 / US$ 1,00 (pt-BR)', async () => {
      const { bar, part } = await widget(0.999999, 1, 'pt-BR');
      expect(part('used')).toBe('US$ 0,9999 / US$ 1,00');
      expect(part('percent')).toBe('99% usado');
      expect(text({ textContent: bar.getAttribute('aria-valuetext') } as Element)).toBe('US$ 0,9999 de US$ 1,00 usados');
    });

    it('shows $24.999 of $25 as $24.99, and a limit reached as reached', async () => {
      const near = await widget(24.999, 25, 'en');
      expect(near.part('used')).toBe('$24.99 / $25.00');
      near.view.unmount();
      const spent = await widget(25, 25, 'en');
      expect(spent.part('used')).toBe('$25.00 / $25.00');
      expect(spent.part('percent')).toBe('100% used');
      expect(spent.bar.getAttribute('aria-valuenow')).toBe('100');
      expect(spent.root.getAttribute('data-state')).toBe('exceeded');
    });
  });

  it('in the admin users table (en and pt-BR)', () => {
    const users = [usageJson({ used: 0.999999, limit: 1, metric: 'costUsd', userId: 'u-1' })] as UserUsageJson[];
    const en = renderTable(users, 'en', 'UTC');
    expect(text(screen.getByTestId('tl-user-used'))).toBe('$0.9999 / $1.00 · 99%');
    expect(screen.getByRole('progressbar').getAttribute('aria-valuetext')).toBe('$0.9999 of $1.00 used');
    en.unmount();
    renderTable(users, 'pt-BR', 'UTC');
    expect(text(screen.getByTestId('tl-user-used'))).toBe('US$ 0,9999 / US$ 1,00 · 99%');
  });
});

describe('usage bars for assistive tech', () => {
  it('announce a whole percent, never a float, and a text with the figures', () => {
    const users = [
      usageJson({ used: 1 / 3, limit: 1, metric: 'costUsd', userId: 'a' }),
      usageJson({ used: 200, limit: 600, userId: 'b' }),
      usageJson({ used: 2, limit: 3, metric: 'requests', userId: 'c' }),
    ] as UserUsageJson[];
    renderTable(users, 'en', 'UTC');
    const bars = screen.getAllByRole('progressbar');
    expect(bars.map((b) => [b.getAttribute('aria-valuemin'), b.getAttribute('aria-valuenow'), b.getAttribute('aria-valuemax')])).toEqual([
      ['0', '33', '100'],
      ['0', '33', '100'],
      ['0', '67', '100'],
    ]);
    expect(bars.map((b) => b.getAttribute('aria-valuetext'))).toEqual(['$0.3333 of $1.00 used', '200 of 600 tokens used', '2 of 3 requests used']);
  });
});
