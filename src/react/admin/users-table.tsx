import { useId } from 'react';
import { formatDate, formatMessage, formatPercent } from '../../i18n/format.js';
import type { MessageKey } from '../../i18n/messages.js';
import type { UserUsageJson } from '../api.js';
import { formatAmount, formatPeriod, formatUsed, usedText, type Metric } from '../format.js';
import { ProgressBar, shareUsed, usageState } from '../progress-bar.js';
import { EmptyRow } from '../status-views.js';

export type SortColumn = 'user' | 'usage' | 'limit' | 'status' | 'resetAt';
export interface Sort {
  column: SortColumn;
  direction: 'ascending' | 'descending';
}

export type UserAction = 'edit' | 'reset' | 'disable' | 'enable' | 'assignPlan';

const COLUMNS: ReadonlyArray<{ column: SortColumn; label: MessageKey; numeric?: boolean }> = [
  { column: 'user', label: 'admin.col.user' },
  { column: 'usage', label: 'admin.col.usage' },
  { column: 'limit', label: 'admin.col.limit', numeric: true },
  { column: 'status', label: 'admin.col.status' },
  { column: 'resetAt', label: 'admin.col.resetAt' },
];

const share = (u: UserUsageJson) => (u.limit > 0 ? u.used / u.limit : Number.POSITIVE_INFINITY);

/**
 * Sorts one page of users (client-side: the API pages in id order). Usage sorts by the share of
 * the limit used, so users of different units compare; ties keep id order.
 */
export function sortUsers(users: readonly UserUsageJson[], sort: Sort | null): UserUsageJson[] {
  if (sort === null) return [...users];
  const key = (u: UserUsageJson): number | string => {
    switch (sort.column) {
      case 'user':
        return u.userId;
      case 'usage':
        return share(u);
      case 'limit':
        return u.limit;
      case 'status':
        return u.isActive ? 1 : 0;
      case 'resetAt':
        return Date.parse(u.resetAt);
    }
  };
  const sign = sort.direction === 'ascending' ? 1 : -1;
  return users
    .map((u, i) => ({ u, i, k: key(u) }))
    .sort((a, b) => {
      const c = typeof a.k === 'string' && typeof b.k === 'string' ? a.k.localeCompare(b.k) : (a.k as number) - (b.k as number);
      return c === 0 || Number.isNaN(c) ? a.i - b.i : sign * c;
    })
    .map((r) => r.u);
}

export interface UsersTableProps {
  users: readonly UserUsageJson[];
  locale: string;
  timeZone: string | undefined;
  warningThreshold: number;
  sort: Sort | null;
  onSort: (column: SortColumn) => void;
  onAction: (action: UserAction, user: UserUsageJson) => void;
  /** Show each user's plan and team, and an "Assign plan" action. @default false */
  showPlans?: boolean;
  /** The app's display name of a user, shown above the id. */
  getUserLabel?: ((userId: string) => string | undefined) | undefined;
  /** The search the page answers (ids starting with it): an empty page then says none matched. */
  search?: string | undefined;
}

/** The users of one page: usage bar and figures, limit and period, status, reset date, actions. */
export function UsersTable({ users, locale, timeZone, warningThreshold, sort, onSort, onAction, showPlans = false, getUserLabel, search = '' }: UsersTableProps) {
  const baseId = useId();
  const t = (key: MessageKey, params: Record<string, string | number> = {}) => formatMessage(locale, key, params);
  const rows = sortUsers(users, sort);
  return (
    <div className="tl-table-wrap">
      <table className="tl-table tl-users tl-stack">
        <caption className="tl-table__caption">
          {t('admin.users.caption')} <span className="tl-muted tl-table__note">({t('admin.users.sortNote')})</span>
        </caption>
        <thead>
          <tr>
            {COLUMNS.map(({ column, label, numeric }) => {
              const active = sort?.column === column;
              return (
                <th key={column} scope="col" aria-sort={active ? sort.direction : 'none'} className={numeric ? 'tl-num' : undefined}>
                  <button type="button" className="tl-sort" onClick={() => onSort(column)}>
                    {t(label)}
                    <span aria-hidden="true" className="tl-sort__icon">
                      {active ? (sort.direction === 'ascending' ? ' ▲' : ' ▼') : ' ↕'}
                    </span>
                  </button>
                </th>
              );
            })}
            <th scope="col">{t('admin.col.actions')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <EmptyRow columns={6} text={search === '' ? t('admin.users.empty') : t('admin.users.noMatch', { prefix: search })} />
          ) : (
            rows.map((u, index) => {
              const metric = u.metric as Metric;
              const rule = u.windows[0]?.rule;
              const state = usageState(u.used, u.limit, warningThreshold, u.isActive);
              const userCellId = `${baseId}-user-${index}`;
              const name = labelFor(getUserLabel, u.userId);
              const used = formatMessage(locale, 'widget.usedOfLimit', { used: formatUsed(locale, metric, u.used), limit: formatAmount(locale, metric, u.limit) });
              return (
                <tr key={u.userId} data-user-id={u.userId} data-state={state}>
                  <th scope="row" id={userCellId} className="tl-users__id">
                    {name ?? u.userId}
                    {name !== undefined ? <span className="tl-users__userid tl-muted">{u.userId}</span> : null}
                    {showPlans && (u.plan || u.account) ? (
                      <span className="tl-muted tl-users__plan">
                        {' '}
                        {[u.plan ? `${t('admin.col.plan')}: ${u.plan}` : null, u.account ? `${t('admin.col.account')}: ${u.account.accountId}` : null].filter(Boolean).join(' · ')}
                      </span>
                    ) : null}
                  </th>
                  <td className="tl-users__usage" data-label={t('admin.col.usage')}>
                    <ProgressBar
                      value={u.used}
                      max={u.limit}
                      // Named as the row and the confirmations name the user, not by the id alone.
                      label={`${formatMessage(locale, `widget.progressLabel.${metric}`)}: ${name === undefined ? u.userId : `${name} (${u.userId})`}`}
                      valueText={usedText(locale, metric, u.used, u.limit)}
                      state={state}
                    />
                    <span className="tl-users__figures" data-testid="tl-user-used">
                      {used} · {formatPercent(locale, shareUsed(u.used, u.limit))}
                    </span>
                  </td>
                  <td className="tl-num tl-users__limit" data-testid="tl-user-limit" data-label={t('admin.col.limit')}>
                    <span>
                      {formatAmount(locale, metric, u.limit)}
                      {rule ? <span className="tl-muted"> {formatPeriod(locale, rule.period)}</span> : null}
                    </span>
                  </td>
                  <td data-label={t('admin.col.status')}>
                    <span className={u.isActive ? 'tl-badge tl-badge--ok' : 'tl-badge tl-badge--disabled'}>{t(u.isActive ? 'usage.active' : 'usage.disabled')}</span>
                  </td>
                  <td data-label={t('admin.col.resetAt')}>
                    {/* With the time and the zone's name: a reset at midnight UTC is the evening before in São Paulo. */}
                    <time dateTime={u.resetAt}>{formatDate(locale, new Date(u.resetAt), { timeZone: timeZone ?? rule?.timeZone ?? 'UTC', time: true, zoneName: true })}</time>
                  </td>
                  <td className="tl-users__actions" data-label={t('admin.col.actions')}>
                    <button type="button" className="tl-button tl-button--small" aria-describedby={userCellId} onClick={() => onAction('edit', u)}>
                      {t('admin.action.editLimit')}
                    </button>
                    {showPlans ? (
                      <button type="button" className="tl-button tl-button--small" aria-describedby={userCellId} onClick={() => onAction('assignPlan', u)}>
                        {t('admin.action.assignPlan')}
                      </button>
                    ) : null}
                    <button type="button" className="tl-button tl-button--small" aria-describedby={userCellId} onClick={() => onAction('reset', u)}>
                      {t('admin.action.reset')}
                    </button>
                    <button
                      type="button"
                      className={u.isActive ? 'tl-button tl-button--small tl-button--danger' : 'tl-button tl-button--small'}
                      aria-describedby={userCellId}
                      onClick={() => onAction(u.isActive ? 'disable' : 'enable', u)}
                    >
                      {t(u.isActive ? 'admin.action.disable' : 'admin.action.enable')}
                    </button>
                  </td>
                </tr>
              );
            })
          )}
        </tbody>
      </table>
    </div>
  );
}

/** The app's label of a user, or undefined (none, empty, the id itself, or a throwing lookup). */
function labelFor(getUserLabel: ((userId: string) => string | undefined) | undefined, userId: string): string | undefined {
  try {
    const label = getUserLabel?.(userId);
    return typeof label === 'string' && label !== '' && label !== userId ? label : undefined;
  } catch {
    return undefined;
  }
}
