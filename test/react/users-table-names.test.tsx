// @vitest-environment jsdom
import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { UsersTable } from '../../src/react/admin/users-table.js';
import type { UserUsageJson } from '../../src/react/api.js';
import { usageJson } from './helpers.js';

describe('<UsersTable /> usage bars', () => {
  it("are named with the app's display name of the user, as the row is", () => {
    const users = [usageJson({ used: 10, limit: 100, userId: 'u-1' }), usageJson({ used: 20, limit: 100, userId: 'u-2' })] as UserUsageJson[];
    render(
      <UsersTable
        users={users}
        locale="en"
        timeZone="UTC"
        warningThreshold={0.8}
        sort={null}
        onSort={() => undefined}
        onAction={() => undefined}
        getUserLabel={(id) => (id === 'u-1' ? 'Ana Souza' : undefined)}
      />,
    );
    expect(screen.getByRole('progressbar', { name: 'Token usage: Ana Souza (u-1)' }).getAttribute('aria-valuenow')).toBe('10');
    expect(screen.getByRole('progressbar', { name: 'Token usage: u-2' }).getAttribute('aria-valuenow')).toBe('20');
  });
});
