// The plan and team views of the admin panel: two tables and their three dialogs, which share the
// panel's API client and formatting (over 300 lines for that reason).
import { useId, useState, type FormEvent } from 'react';
import { formatMessage, formatNumber, formatPercent } from '../../i18n/format.js';
import type { MessageKey } from '../../i18n/messages.js';
import type { AccountUsageJson, ApiClient, LimitRuleJson, PlanJson, UserUsageJson, WindowUsageJson } from '../api.js';
import { formatAmount, formatPeriod, formatUsed, metricOfRule, usedText, type Metric } from '../format.js';
import { useResource } from '../hooks.js';
import { Pager } from './pager.js';
import { ProgressBar, shareUsed, usageState } from '../progress-bar.js';
import { EmptyRow, ErrorView, LoadingView } from '../status-views.js';
import { Modal } from './modal.js';
import { ActionError, busyButton, usePendingAction } from './pending-action.js';

type T = (key: MessageKey, params?: Record<string, string | number>) => string;
const translator =
  (locale: string): T =>
  (key, params = {}) =>
    formatMessage(locale, key, params);

/** `100,000 tokens per month (gpt-4o*, o1*)`: one rule for people. */
export function describeRule(locale: string, rule: LimitRuleJson): string {
  const metric = metricOfRule(rule);
  const amount = rule[metric] ?? 0;
  const filters = [...(rule.models ?? []), ...(rule.providers ?? [])];
  return `${formatAmount(locale, metric, amount)} ${formatPeriod(locale, rule.period)}${filters.length > 0 ? ` (${filters.join(', ')})` : ''}`;
}

/**
 * A member's share of the account's usage in `team`: the member's use of their own rule that
 * counts the same unit over the same period, over the account's use. Undefined when the member has
 * no such rule. An approximation: usage moves with a user between accounts, so the share of a
 * member who joined during the period also counts their calls from before.
 */
export function memberShare(member: UserUsageJson, team: WindowUsageJson | undefined): number | undefined {
  if (team === undefined) return undefined;
  const same = member.windows.find(
    (w) => w.metric === team.metric && JSON.stringify(w.rule.period) === JSON.stringify(team.rule.period) && w.rule.models === undefined && w.rule.providers === undefined,
  );
  if (same === undefined) return undefined;
  return team.used > 0 ? Math.min(1, same.used / team.used) : 0;
}

/** The plans (`GET /plans`): their rules and how many users and teams are on each. */
export function PlansTable({ plans, locale }: { plans: readonly PlanJson[]; locale: string }) {
  const t = translator(locale);
  return (
    <div className="tl-table-wrap">
      <table className="tl-table tl-plans">
        <caption className="tl-table__caption">{t('admin.plans.caption')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('admin.col.plan')}</th>
            <th scope="col">{t('admin.col.rules')}</th>
            <th scope="col" className="tl-num">
              {t('admin.col.users')}
            </th>
            <th scope="col" className="tl-num">
              {t('admin.col.accounts')}
            </th>
          </tr>
        </thead>
        <tbody>
          {plans.length === 0 ? (
            <EmptyRow columns={4} text={t('admin.plans.empty')} />
          ) : (
            plans.map((p) => (
              <tr key={p.planId} data-plan-id={p.planId}>
                <th scope="row">{p.planId}</th>
                <td>
                  <ul className="tl-plans__rules">
                    {p.rules.map((r) => (
                      <li key={r.id}>{describeRule(locale, r)}</li>
                    ))}
                  </ul>
                </td>
                <td className="tl-num">{formatNumber(locale, p.users ?? 0)}</td>
                <td className="tl-num">{formatNumber(locale, p.accounts ?? 0)}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}

/** A window's usage bar and `used / limit` figures. */
function WindowCell({ win, locale, warningThreshold, label }: { win: WindowUsageJson; locale: string; warningThreshold: number; label: string }) {
  const metric = win.metric as Metric;
  const used = formatMessage(locale, 'widget.usedOfLimit', { used: formatUsed(locale, metric, win.used), limit: formatAmount(locale, metric, win.limit) });
  return (
    <>
      <ProgressBar value={win.used} max={win.limit} label={label} valueText={usedText(locale, metric, win.used, win.limit)} state={usageState(win.used, win.limit, warningThreshold)} />
      <span className="tl-users__figures">
        {used} {formatPeriod(locale, win.rule.period)} · {formatPercent(locale, shareUsed(win.used, win.limit))}
      </span>
    </>
  );
}

export type AccountAction = 'edit' | 'assignPlan' | 'members';

/** The teams of one page (`GET /accounts`): plan, the first rule's usage, members, actions. */
export function AccountsTable({
  accounts,
  locale,
  warningThreshold,
  onAction,
}: {
  accounts: readonly AccountUsageJson[];
  locale: string;
  warningThreshold: number;
  onAction: (action: AccountAction, account: AccountUsageJson) => void;
}) {
  const baseId = useId();
  const t = translator(locale);
  return (
    <div className="tl-table-wrap">
      <table className="tl-table tl-accounts">
        <caption className="tl-table__caption">{t('admin.accounts.caption')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('admin.col.account')}</th>
            <th scope="col">{t('admin.col.plan')}</th>
            <th scope="col">{t('admin.col.usage')}</th>
            <th scope="col" className="tl-num">
              {t('admin.col.members')}
            </th>
            <th scope="col">{t('admin.col.actions')}</th>
          </tr>
        </thead>
        <tbody>
          {accounts.length === 0 ? (
            <EmptyRow columns={5} text={t('admin.accounts.empty')} />
          ) : (
            accounts.map((a, index) => {
              const cellId = `${baseId}-account-${index}`;
              const win = a.windows[0];
              return (
                <tr key={a.accountId} data-account-id={a.accountId}>
                  <th scope="row" id={cellId}>
                    {a.accountId}
                  </th>
                  <td>{a.plan ?? <span className="tl-muted">{t('admin.plan.none')}</span>}</td>
                  <td className="tl-users__usage">
                    {win ? (
                      <WindowCell win={win} locale={locale} warningThreshold={warningThreshold} label={`${t(`widget.progressLabel.${win.metric}`)}: ${a.accountId}`} />
                    ) : (
                      <span className="tl-muted">{t('admin.edit.noLimits')}</span>
                    )}
                  </td>
                  <td className="tl-num">{formatNumber(locale, a.members ?? 0)}</td>
                  <td className="tl-users__actions">
                    {(['edit', 'assignPlan', 'members'] as const).map((action) => (
                      <button key={action} type="button" className="tl-button tl-button--small" aria-describedby={cellId} onClick={() => onAction(action, a)}>
                        {t(action === 'edit' ? 'admin.action.editTeamLimits' : action === 'assignPlan' ? 'admin.action.assignPlan' : 'admin.action.members')}
                      </button>
                    ))}
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

/** Picks a plan (or none) for a user or a team; `onSave` rejects with the API's error, shown in the dialog. */
export function AssignPlanDialog({
  name,
  current,
  plans,
  locale,
  onSave,
  onClose,
}: {
  name: string;
  current: string | null;
  plans: readonly PlanJson[];
  locale: string;
  onSave: (planId: string | null) => Promise<void>;
  onClose: () => void;
}) {
  const t = translator(locale);
  const selectId = useId();
  const [value, setValue] = useState(current ?? '');
  const { busy, error, run } = usePendingAction();
  // The current plan is an option even before the plans load (or if they fail to), so the dialog
  // never shows "No plan" for a user or team that has one, and Save sends what it shows.
  const ids = plans.map((p) => p.planId);
  if (current && !ids.includes(current)) ids.push(current);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    run(() => onSave(value === '' ? null : value));
  };
  return (
    <Modal role="dialog" title={t('admin.assign.title', { name })} onClose={onClose} busy={busy}>
      <form className="tl-form" noValidate onSubmit={submit} aria-busy={busy}>
        <div className="tl-form__row">
          <label htmlFor={selectId}>{t('admin.assign.plan')}</label>
          <select id={selectId} value={value} onChange={(e) => setValue(e.target.value)}>
            <option value="">{t('admin.plan.none')}</option>
            {ids.map((id) => (
              <option key={id} value={id}>
                {id}
              </option>
            ))}
          </select>
        </div>
        <ActionError locale={locale} error={error} />
        <div className="tl-modal__actions">
          {/* Once saving, the plan is sent: Cancel could no longer take it back. */}
          <button type="button" className="tl-button" {...busyButton(busy, onClose)}>
            {t('common.cancel')}
          </button>
          <button type="submit" className="tl-button tl-button--primary" aria-disabled={busy}>
            {t('admin.edit.save')}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/**
 * A team's members (`GET /accounts/:id/members`, paged with the API's cursor): each member's own
 * usage and their share of the team's usage of its first rule (see `memberShare`).
 */
export function MembersDialog({
  account,
  client,
  baseUrl,
  locale,
  pageSize,
  warningThreshold,
  onClose,
}: {
  account: AccountUsageJson;
  client: ApiClient;
  /** The API `client` asks: its members are loaded and shown as that API's only. */
  baseUrl: string;
  locale: string;
  pageSize: number;
  warningThreshold: number;
  onClose: () => void;
}) {
  const t = translator(locale);
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const cursor = cursors.at(-1);
  const page = useResource(
    (signal) => client.accountMembers(account.accountId, { cursor, limit: pageSize }, signal),
    `${baseUrl}|${account.accountId}|${cursor ?? ''}|${pageSize}`,
    0,
    baseUrl,
  );
  const team = account.windows[0];
  return (
    <Modal role="dialog" title={t('admin.members.title', { account: account.accountId })} onClose={onClose} className="tl-members">
      {team === undefined ? <p className="tl-muted">{t('admin.members.noRules')}</p> : null}
      {page.data ? (
        <>
          <div className="tl-table-wrap">
            <table className="tl-table tl-members__table">
              <caption className="tl-table__caption">{t('admin.members.title', { account: account.accountId })}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('admin.col.user')}</th>
                  <th scope="col">{t('admin.col.usage')}</th>
                  <th scope="col" className="tl-num">
                    {t('admin.col.share')}
                  </th>
                </tr>
              </thead>
              <tbody>
                {page.data.members.length === 0 ? (
                  <EmptyRow columns={3} text={t('admin.members.empty')} />
                ) : (
                  page.data.members.map((m) => {
                    const share = memberShare(m, team);
                    const win = m.windows[0]!;
                    return (
                      <tr key={m.userId} data-user-id={m.userId}>
                        <th scope="row">{m.userId}</th>
                        <td className="tl-users__usage">
                          <WindowCell win={win} locale={locale} warningThreshold={warningThreshold} label={`${t(`widget.progressLabel.${win.metric}`)}: ${m.userId}`} />
                        </td>
                        <td className="tl-num" data-testid="tl-member-share">
                          {share === undefined ? '—' : formatPercent(locale, share)}
                        </td>
                      </tr>
                    );
                  })
                )}
              </tbody>
            </table>
          </div>
          <Pager locale={locale} label={t('admin.members.title', { account: account.accountId })} cursors={cursors} setCursors={setCursors} nextCursor={page.data.nextCursor} loading={page.loading} />
        </>
      ) : page.error !== undefined ? (
        <ErrorView locale={locale} error={page.error} onRetry={page.reload} />
      ) : (
        <LoadingView locale={locale} />
      )}
      <div className="tl-modal__actions">
        <button type="button" className="tl-button" onClick={onClose}>
          {t('common.close')}
        </button>
      </div>
    </Modal>
  );
}
