// @vitest-environment jsdom
import { render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { UsageRecordJson } from '../../src/react/api.js';
import { formatCost, formatPeriod } from '../../src/react/format.js';
import { UsageLogTable } from '../../src/react/usage-log-table.js';
import { usageRecordJson } from './helpers.js';

const record = (id: string, status: UsageRecordJson['status'], costUsd: number | null): UsageRecordJson =>
  usageRecordJson({ id, userId: 'u', costUsd, timestamp: '2026-05-20T11:00:00.000Z', latencyMs: 5, status });

describe('costs and the latest calls', () => {
  it('shows costs with a precision that fits their size', () => {
    expect(formatCost('en', 25)).toBe('$25.00');
    expect(formatCost('en', 1234.5678)).toBe('$1,234.57');
    expect(formatCost('en', 0.052515)).toBe('$0.0525');
    expect(formatCost('en', 0.000281)).toBe('$0.00028');
    expect(formatCost('en', 0)).toBe('$0.00');
    expect(formatCost('pt-BR', 0.000281)).toMatch(/^US\$\s0,00028$/);
  });

  it('has a status column only when some call did not end OK, and labels every cell for phones', () => {
    const { unmount } = render(<UsageLogTable records={[record('a', 'ok', 0.0001), record('b', 'ok', null)]} locale="en" timeZone="UTC" caption="Latest calls" />);
    expect(screen.queryByRole('columnheader', { name: 'Status' })).toBeNull();
    unmount();
    render(<UsageLogTable records={[record('a', 'ok', 0.0001), record('b', 'aborted', 0.02)]} locale="en" timeZone="UTC" caption="Latest calls" />);
    const table = screen.getByRole('table', { name: 'Latest calls' });
    expect(within(table).getByRole('columnheader', { name: 'Status' })).toBeTruthy();
    const cells = [...table.querySelectorAll('tbody tr')[1]!.children];
    expect(cells.map((c) => c.getAttribute('data-label'))).toEqual(['Time (UTC)', 'Model', 'Input tokens', 'Output tokens', 'Total tokens', 'Cost', 'Status']);
    expect(cells[5]!.textContent).toBe('$0.02');
  });

  it("names the time column's zone in the locale the text is in, a fallback one included", () => {
    render(<UsageLogTable records={[record('a', 'ok', 0.01)]} locale="fr" timeZone="America/Sao_Paulo" caption="Latest calls" />);
    // `fr` falls back to English: "GMT-3" as the widget writes it, not French "UTC−3".
    expect(screen.getAllByRole('columnheader')[0]!.textContent).toBe('Time (GMT-3)');
  });
});

describe('periods in words', () => {
  it('says a period of one day or month without a count, and others with theirs, in both locales', () => {
    expect([{ days: 1 }, { months: 1 }, { days: 30 }, { months: 3 }].map((p) => formatPeriod('en', p))).toEqual(['every day', 'every month', 'every 30 days', 'every 3 months']);
    expect([{ days: 1 }, { months: 1 }, { days: 30 }, { months: 3 }].map((p) => formatPeriod('pt-BR', p))).toEqual(['todo dia', 'todo mês', 'a cada 30 dias', 'a cada 3 meses']);
  });
});
