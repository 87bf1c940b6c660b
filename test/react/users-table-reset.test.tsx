// @vitest-environment jsdom
import { render } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { UsersTable } from '../../src/react/admin/users-table.js';
import type { UserUsageJson } from '../../src/react/api.js';
import { usageJson } from './helpers.js';

const text = (el: Element) => (el.textContent ?? '').replace(/[\u00a0\u202f]/g, ' ');

function renderTable(locale: string, timeZone: string | undefined) {
  const users = [usageJson({ used: 1, limit: 10, userId: 'u-1' })] as UserUsageJson[];
  return render(
    <UsersTable users={users} locale={locale} timeZone={timeZone} warningThreshold={0.8} sort={null} onSort={() => undefined} onAction={() => undefined} />,
  );
}

describe('the admin users table names the zone of its reset times', () => {
  it('in the rule zone (UTC here) by default', () => {
    renderTable('en', undefined);
    expect(text(document.querySelector('td time')!)).toBe('Jun 1, 2026, 12:00 AM UTC');
  });

  it('in the panel zone when given one, named so an admin elsewhere can tell (en and pt-BR)', () => {
    const en = renderTable('en', 'America/Sao_Paulo');
    expect(text(document.querySelector('td time')!)).toBe('May 31, 2026, 9:00 PM GMT-3');
    expect(document.querySelector('td time')!.getAttribute('dateTime')).toBe('2026-06-01T00:00:00.000Z');
    en.unmount();
    renderTable('pt-BR', 'America/Sao_Paulo');
    expect(text(document.querySelector('td time')!)).toBe('31 de mai. de 2026, 21:00 BRT');
  });
});
