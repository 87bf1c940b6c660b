// The admin panel: stats, users, plans and teams, and their dialogs wired to one API client. Over
// 300 lines because the panel owns the state its tables and dialogs share; each table is a module.
import { useId, useMemo, useState } from 'react';
import { formatMessage, formatPlural } from '../i18n/format.js';
import type { AccountUsageJson, HistoryJson, LimitRuleJson, UsageStatsJson, UserUsageJson } from './api.js';
import { ConfirmDialog } from './admin/confirm-dialog.js';
import { Pager } from './admin/pager.js';
import { EditLimitsDialog } from './admin/edit-limits-dialog.js';
import { AccountsTable, AssignPlanDialog, MembersDialog, PlansTable, type AccountAction } from './admin/plans-accounts.js';
import { StatCards } from './admin/stat-cards.js';
import { UsersTable, type Sort, type SortColumn, type UserAction } from './admin/users-table.js';
import { BarChart } from './charts/bar-chart.js';
import { dailySeries, modelsOf } from './charts/chart-data.js';
import { viewerTimeZone, type Metric } from './format.js';
import { useActions, useApiClient, useDebouncedValue, useResource } from './hooks.js';
import { countProp, cx, DEFAULT_BASE_URL, DEFAULT_REFRESH_MS, type TokenLimitsComponentProps } from './props.js';
import { RenderGuard } from './render-guard.js';
import { ErrorView, LoadingView } from './status-views.js';
import { UsageLogTable } from './usage-log-table.js';

/** Props of `<AdminTokenPanel />`. */
export interface AdminTokenPanelProps extends TokenLimitsComponentProps {
  /**
   * Users per page of the table (1-1000); pages follow the API's `nextCursor`.
   * @default 20
   */
  pageSize?: number;
  /**
   * Days of history in the usage chart (1-366), ending today.
   * @default 30
   */
  historyDays?: number;
  /**
   * What the usage chart counts.
   * @default 'tokens'
   */
  chartMetric?: Metric;
  /**
   * `stacked`: one bar per day with the models stacked; `grouped`: the models side by side.
   * @default 'stacked'
   */
  chartMode?: 'stacked' | 'grouped';
  /**
   * Share of a limit (0-1) from which a user's usage bar shows the warning colour. `NaN` takes
   * the default.
   * @default 0.8
   */
  warningThreshold?: number;
  /**
   * The heading.
   * @default the catalogue's "AI usage: all users"
   */
  title?: string;
  /**
   * A user's display name from the app's own directory (`(id) => users.get(id)?.name`), shown in
   * the users table above the id; `undefined` shows the id alone.
   * @default none: the ids
   */
  getUserLabel?: (userId: string) => string | undefined;
  /**
   * Calls shown in "Latest calls of all users" (`GET /log`, newest first; 1-1000); `0` hides it.
   * @default 20
   */
  logLimit?: number;
  /**
   * Show the plan and team views: each user's plan and team with an "Assign plan" action, the
   * plans (`GET /plans`), and the teams (`GET /accounts`, paged like the users) with their usage,
   * an edit-limits dialog (`PUT /accounts/:id/limits`), "Assign plan" (`PUT /accounts/:id/plan`)
   * and their members with each one's share of the team's usage (`GET /accounts/:id/members`).
   * Off by default, so apps that sell no plans show no empty sections.
   * @default false
   */
  plansAndAccounts?: boolean;
}

interface Overview {
  stats: UsageStatsJson;
  history: HistoryJson;
}

type Pending = { action: UserAction; user: UserUsageJson } | null;
type AccountPending = { action: AccountAction; account: AccountUsageJson } | null;
type ConfirmAction = 'reset' | 'disable' | 'enable';
const isConfirmAction = (action: UserAction): action is ConfirmAction => action === 'reset' || action === 'disable' || action === 'enable';

const DAY = 86_400_000;
/** How long the search box waits for the typing to pause before it asks the server. */
const SEARCH_DEBOUNCE_MS = 300;

/**
 * The admin view over the admin HTTP API: stat cards (`GET /stats`), a usage chart of everyone,
 * stacked per model with a model filter (`GET /history`), and the users table (`GET /users`, paged
 * with the API's cursor; sorting applies within the page) with an edit-limit dialog
 * (`PUT /users/:id/limits`) and reset / disable / enable actions behind a confirmation
 * (`POST /users/:id/reset|disable|enable`).
 */
export function AdminTokenPanel(props: AdminTokenPanelProps) {
  return (
    <RenderGuard locale={props.locale ?? 'en'} className={cx('tl-admin', props.className)} componentProps={props}>
      <AdminTokenPanelView {...props} />
    </RenderGuard>
  );
}

function AdminTokenPanelView({
  baseUrl = DEFAULT_BASE_URL,
  fetcher,
  locale = 'en',
  refreshIntervalMs = DEFAULT_REFRESH_MS,
  requestTimeoutMs,
  timeZone,
  refreshKey,
  className,
  pageSize = 20,
  historyDays = 30,
  chartMetric = 'tokens',
  chartMode = 'stacked',
  warningThreshold = 0.8,
  title,
  getUserLabel,
  logLimit = 20,
  plansAndAccounts = false,
}: AdminTokenPanelProps) {
  const client = useApiClient(baseUrl, fetcher, locale, requestTimeoutMs);
  const actions = useActions();
  const titleId = useId();
  const limit = countProp(pageSize, 1, 1000, 20);
  const days = countProp(historyDays, 1, 366, 30);
  // The cursors of the pages visited: cursors[i] opens page i (undefined: the first page).
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const cursor = cursors.at(-1);
  const [sort, setSort] = useState<Sort | null>(null);
  // The search box: users whose id starts with it, asked of the server (every page, not this one).
  const [search, setSearch] = useState('');
  // Asked of the server once the typing pauses: one /users request per search, not per keystroke.
  const prefix = useDebouncedValue(search.trim(), SEARCH_DEBOUNCE_MS);
  // A new search starts at its first page (in the same render, so no request mixes the two).
  const [searchedPrefix, setSearchedPrefix] = useState(prefix);
  if (searchedPrefix !== prefix) {
    setSearchedPrefix(prefix);
    setCursors([undefined]);
  }
  const [model, setModel] = useState('');
  const [pending, setPending] = useState<Pending>(null);
  const [accountPending, setAccountPending] = useState<AccountPending>(null);
  const [accountCursors, setAccountCursors] = useState<Array<string | undefined>>([undefined]);
  const accountCursor = accountCursors.at(-1);
  const [changes, setChanges] = useState(0);
  // Another API (baseUrl changed): its pages start over, and the dialogs were about the other one's users.
  const [shownBaseUrl, setShownBaseUrl] = useState(baseUrl);
  if (shownBaseUrl !== baseUrl) {
    setShownBaseUrl(baseUrl);
    setCursors([undefined]);
    setAccountCursors([undefined]);
    setPending(null);
    setAccountPending(null);
  }

  const overview = useResource<Overview>(
    async (signal) => {
      const to = Date.now();
      const from = Math.floor(to / DAY) * DAY - (days - 1) * DAY;
      const [stats, history] = await Promise.all([
        client.stats(signal),
        client.history({ granularity: 'day', from: new Date(from).toISOString(), to: new Date(to).toISOString() }, signal),
      ]);
      return { stats, history };
    },
    `${baseUrl}|${days}|${refreshKey ?? ''}|${changes}`,
    refreshIntervalMs,
    baseUrl,
  );
  const logSize = countProp(logLimit, 0, 1000, 20);
  const log = useResource(
    (signal) => (logSize === 0 ? Promise.resolve({ records: [] }) : client.log({ limit: logSize }, signal)),
    `${baseUrl}|log|${logSize}|${refreshKey ?? ''}|${changes}`,
    refreshIntervalMs,
    baseUrl,
  );
  const page = useResource(
    (signal) => client.users({ cursor, limit, ...(prefix === '' ? {} : { prefix }) }, signal),
    `${baseUrl}|${cursor ?? ''}|${limit}|${prefix}|${refreshKey ?? ''}|${changes}`,
    refreshIntervalMs,
    baseUrl,
  );
  const searchId = `${titleId}-search`;

  const plans = useResource(plansAndAccounts ? (signal) => client.plans(signal) : null, `${baseUrl}|${refreshKey ?? ''}|${changes}`, refreshIntervalMs, baseUrl);
  const accounts = useResource(
    plansAndAccounts ? (signal) => client.accounts({ cursor: accountCursor, limit }, signal) : null,
    `${baseUrl}|${accountCursor ?? ''}|${limit}|${refreshKey ?? ''}|${changes}`,
    refreshIntervalMs,
    baseUrl,
  );

  const models = useMemo(() => (overview.data ? modelsOf(overview.data.history.points) : []), [overview.data]);
  const series = useMemo(() => {
    if (!overview.data) return undefined;
    const { history } = overview.data;
    return dailySeries(history.points, Date.parse(history.from), Date.parse(history.to), chartMetric, model === '' ? undefined : model);
  }, [overview.data, chartMetric, model]);

  const onSort = (column: SortColumn) =>
    setSort((s) => (s?.column === column ? { column, direction: s.direction === 'ascending' ? 'descending' : 'ascending' } : { column, direction: 'ascending' }));

  const done = () => {
    if (!actions.mounted()) return;
    setPending(null);
    setAccountPending(null);
    setChanges((n) => n + 1);
  };
  const assignPlan = async (userId: string, planId: string | null) => {
    await actions.run((signal) => client.assignPlan(userId, planId, signal));
    done();
  };
  const saveAccountLimits = async (accountId: string, rules: LimitRuleJson[] | null) => {
    await actions.run((signal) => client.setAccountLimits(accountId, rules, signal));
    done();
  };
  const assignAccountPlan = async (accountId: string, planId: string | null) => {
    await actions.run((signal) => client.assignAccountPlan(accountId, planId, signal));
    done();
  };
  const saveLimits = async (userId: string, rules: LimitRuleJson[] | null) => {
    await actions.run((signal) => client.setLimits(userId, rules, signal));
    done();
  };
  const runAction = async (action: ConfirmAction, userId: string) => {
    await actions.run((signal) => (action === 'reset' ? client.reset(userId, signal) : client.setActive(userId, action === 'enable', signal)));
    done();
  };

  const confirmAction = pending && isConfirmAction(pending.action) ? pending.action : undefined;
  const t = (key: Parameters<typeof formatMessage>[1], params: Record<string, string | number> = {}) => formatMessage(locale, key, params);
  const modelSelectId = `${titleId}-model`;

  return (
    <section className={cx('tl-admin', className)} aria-labelledby={titleId} aria-busy={overview.loading || page.loading || plans.loading || accounts.loading}>
      <h2 id={titleId} className="tl-admin__title">
        {title ?? t('admin.title')}
      </h2>

      {overview.data && series ? (
        <>
          <StatCards stats={overview.data.stats} locale={locale} />
          <div className="tl-admin__chart">
            <BarChart
              data={series}
              metric={chartMetric}
              locale={locale}
              title={formatPlural(locale, 'admin.chart.title', days)}
              mode={chartMode}
              colorKeys={models}
              toolbar={
                <div className="tl-admin__filter">
                  <label htmlFor={modelSelectId}>{t('chart.model')}</label>{' '}
                  <select id={modelSelectId} value={model} onChange={(e) => setModel(e.target.value)}>
                    <option value="">{t('chart.allModels')}</option>
                    {models.map((m) => (
                      <option key={m} value={m}>
                        {m}
                      </option>
                    ))}
                  </select>
                </div>
              }
            />
          </div>
          {overview.error !== undefined ? <ErrorView locale={locale} error={overview.error} onRetry={overview.reload} stale /> : null}
        </>
      ) : overview.error !== undefined ? (
        <ErrorView locale={locale} error={overview.error} onRetry={overview.reload} />
      ) : (
        <LoadingView locale={locale} />
      )}

      <div className="tl-admin__search">
        <label htmlFor={searchId}>{t('admin.search.label')}</label>{' '}
        <input
          id={searchId}
          type="search"
          value={search}
          placeholder={t('admin.search.placeholder')}
          onChange={(e) => setSearch(e.target.value)}
        />
      </div>
      {page.data ? (
        <>
          <UsersTable
            users={page.data.users}
            locale={locale}
            timeZone={timeZone}
            warningThreshold={warningThreshold}
            sort={sort}
            onSort={onSort}
            getUserLabel={getUserLabel}
            onAction={(action, user) => setPending({ action, user })}
            showPlans={plansAndAccounts}
            search={prefix}
          />
          <Pager locale={locale} label={t('admin.users.caption')} cursors={cursors} setCursors={setCursors} nextCursor={page.data.nextCursor} loading={page.loading} />
          {page.error !== undefined ? <ErrorView locale={locale} error={page.error} onRetry={page.reload} stale /> : null}
        </>
      ) : page.error !== undefined ? (
        <ErrorView locale={locale} error={page.error} onRetry={page.reload} />
      ) : (
        <LoadingView locale={locale} />
      )}

      {logSize > 0 && log.data ? (
        <UsageLogTable
          records={log.data.records}
          locale={locale}
          timeZone={timeZone ?? viewerTimeZone()}
          caption={t('admin.log.title')}
          userLabel={(userId) => labelOf(getUserLabel, userId)}
        />
      ) : logSize > 0 && log.error !== undefined ? (
        <ErrorView locale={locale} error={log.error} onRetry={log.reload} />
      ) : null}

      {plansAndAccounts ? (
        <>
          {plans.data ? (
            <PlansTable plans={plans.data.plans} locale={locale} />
          ) : plans.error !== undefined ? (
            <ErrorView locale={locale} error={plans.error} onRetry={plans.reload} />
          ) : (
            <LoadingView locale={locale} />
          )}
          {accounts.data ? (
            <>
              <AccountsTable accounts={accounts.data.accounts} locale={locale} warningThreshold={warningThreshold} onAction={(action, account) => setAccountPending({ action, account })} />
              <Pager
                locale={locale}
                label={t('admin.accounts.caption')}
                cursors={accountCursors}
                setCursors={setAccountCursors}
                nextCursor={accounts.data.nextCursor}
                loading={accounts.loading}
              />
            </>
          ) : accounts.error !== undefined ? (
            <ErrorView locale={locale} error={accounts.error} onRetry={accounts.reload} />
          ) : (
            <LoadingView locale={locale} />
          )}
        </>
      ) : null}

      {accountPending?.action === 'edit' ? (
        <EditLimitsDialog
          user={{ userId: accountPending.account.accountId, windows: accountPending.account.windows }}
          title={t('admin.edit.teamTitle', { name: accountPending.account.accountId })}
          clearLabel={t('admin.edit.noLimits')}
          locale={locale}
          onSave={(rules) => saveAccountLimits(accountPending.account.accountId, rules)}
          onClose={() => setAccountPending(null)}
        />
      ) : accountPending?.action === 'assignPlan' ? (
        <AssignPlanDialog
          name={accountPending.account.accountId}
          current={accountPending.account.plan}
          plans={plans.data?.plans ?? []}
          locale={locale}
          onSave={(planId) => assignAccountPlan(accountPending.account.accountId, planId)}
          onClose={() => setAccountPending(null)}
        />
      ) : accountPending?.action === 'members' ? (
        <MembersDialog account={accountPending.account} client={client} baseUrl={baseUrl} locale={locale} pageSize={limit} warningThreshold={warningThreshold} onClose={() => setAccountPending(null)} />
      ) : null}

      {pending?.action === 'assignPlan' ? (
        <AssignPlanDialog
          name={pending.user.userId}
          current={pending.user.plan ?? null}
          plans={plans.data?.plans ?? []}
          locale={locale}
          onSave={(planId) => assignPlan(pending.user.userId, planId)}
          onClose={() => setPending(null)}
        />
      ) : pending?.action === 'edit' ? (
        <EditLimitsDialog user={pending.user} locale={locale} onSave={(rules) => saveLimits(pending.user.userId, rules)} onClose={() => setPending(null)} />
      ) : pending && confirmAction ? (
        <ConfirmDialog
          locale={locale}
          title={t(`admin.action.${confirmAction}`)}
          question={t(`admin.confirm.${confirmAction}`, { user: labelOf(getUserLabel, pending.user.userId) })}
          confirmLabel={t(`admin.action.${confirmAction}`)}
          danger={confirmAction !== 'enable'}
          onConfirm={() => runAction(confirmAction, pending.user.userId)}
          onCancel={() => setPending(null)}
        />
      ) : null}
    </section>
  );
}

/** `Ana Souza (u-42)` when the app names the user, else the id. */
function labelOf(getUserLabel: ((userId: string) => string | undefined) | undefined, userId: string): string {
  let label: string | undefined;
  try {
    label = getUserLabel?.(userId);
  } catch {
    label = undefined;
  }
  return typeof label === 'string' && label !== '' && label !== userId ? `${label} (${userId})` : userId;
}
