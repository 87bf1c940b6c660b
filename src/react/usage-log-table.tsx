import { formatDate, formatMessage, formatNumber, resolveLocale } from '../i18n/format.js';
import { formatCost } from './format.js';
import type { RefusalRecordJson, UsageRecordJson } from './api.js';
import { EmptyRow } from './status-views.js';

export interface UsageLogTableProps {
  records: readonly UsageRecordJson[];
  locale: string;
  timeZone: string;
  caption: string;
  /** Adds a first column with each call's user (the admin view of everyone's calls), as this names them. */
  userLabel?: ((userId: string) => string) | undefined;
  /** Refused calls to show among the calls, by time (with the rule that refused them). */
  refusals?: readonly RefusalRecordJson[] | undefined;
}

/**
 * The usage log as a table, newest first: time, model, tokens, cost, and a status column only when
 * some call did not end `ok` or was refused (refused calls charge nothing: their figures are dashes). Each cell carries its column's name (`data-label`), which the
 * stylesheet shows when a narrow screen stacks the rows.
 */
export function UsageLogTable({ records, locale, timeZone, caption, userLabel, refusals = [] }: UsageLogTableProps) {
  const t = (key: Parameters<typeof formatMessage>[1]) => formatMessage(locale, key);
  const showStatus = refusals.length > 0 || records.some((r) => r.status !== 'ok');
  const rows: Array<{ at: number; call: UsageRecordJson } | { at: number; refusal: RefusalRecordJson; key: string }> = [
    ...records.map((call) => ({ at: Date.parse(call.timestamp), call })),
    ...refusals.map((refusal, i) => ({ at: Date.parse(refusal.timestamp), refusal, key: `refusal-${refusal.timestamp}-${i}` })),
  ].sort((a, b) => b.at - a.at);
  // The times are in `timeZone` (the viewer's by default): the header says which.
  const timeLabel = `${t('log.time')} (${zoneName(locale, timeZone)})`;
  return (
    <div className="tl-table-wrap">
      <table className="tl-table tl-log tl-stack">
        <caption className="tl-table__caption">{caption}</caption>
        <thead>
          <tr>
            {userLabel ? <th scope="col">{t('admin.col.user')}</th> : null}
            <th scope="col">{timeLabel}</th>
            <th scope="col">{t('log.model')}</th>
            <th scope="col" className="tl-num">
              {t('log.input')}
            </th>
            <th scope="col" className="tl-num">
              {t('log.output')}
            </th>
            <th scope="col" className="tl-num">
              {t('log.total')}
            </th>
            <th scope="col" className="tl-num">
              {t('log.cost')}
            </th>
            {showStatus ? <th scope="col">{t('log.status')}</th> : null}
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <EmptyRow columns={(showStatus ? 7 : 6) + (userLabel ? 1 : 0)} text={t('log.empty')} />
          ) : (
            rows.map((row) => {
              if ('refusal' in row) return <RefusalRow key={row.key} refusal={row.refusal} locale={locale} timeZone={timeZone} timeLabel={timeLabel} userLabel={userLabel} />;
              const r = row.call;
              return (
              <tr key={r.id} data-record-id={r.id}>
                {userLabel ? (
                  <td data-label={t('admin.col.user')} className="tl-log__user">
                    {userLabel(r.userId)}
                  </td>
                ) : null}
                <td data-label={timeLabel}>
                  <time dateTime={r.timestamp}>{formatDate(locale, new Date(r.timestamp), { timeZone })}</time>
                </td>
                <td data-label={t('log.model')}>{r.model}</td>
                <td className="tl-num" data-label={t('log.input')}>
                  {formatNumber(locale, r.inputTokens)}
                </td>
                <td className="tl-num" data-label={t('log.output')}>
                  {formatNumber(locale, r.outputTokens)}
                </td>
                <td className="tl-num" data-label={t('log.total')}>
                  <span>
                    {formatNumber(locale, r.totalTokens)}
                    {r.estimated ? <span className="tl-muted"> ({t('log.estimated')})</span> : null}
                  </span>
                </td>
                <td className="tl-num" data-label={t('log.cost')}>
                  {r.costUsd === null ? '–' : formatCost(locale, r.costUsd)}
                </td>
                {showStatus ? (
                  <td data-label={t('log.status')}>
                    <span className={`tl-badge tl-badge--${r.status}`}>{t(`log.status.${r.status}`)}</span>
                  </td>
                ) : null}
              </tr>
              );
            })
          )}
        </tbody>
      </table>
    </div>
  );
}

/** A refused call: when, which model, dashes for the figures (nothing was charged), and why. */
function RefusalRow({
  refusal,
  locale,
  timeZone,
  timeLabel,
  userLabel,
}: {
  refusal: RefusalRecordJson;
  locale: string;
  timeZone: string;
  timeLabel: string;
  userLabel: ((userId: string) => string) | undefined;
}) {
  const t = (key: Parameters<typeof formatMessage>[1], values?: Record<string, unknown>) => formatMessage(locale, key, values as never);
  const why =
    refusal.reason === 'disabled'
      ? t('log.refusedDisabled')
      : t(refusal.scope === 'account' ? 'log.refusedByTeamRule' : 'log.refusedByRule', { rule: refusal.ruleId ?? '–' });
  return (
    <tr className="tl-log__refused" data-refused="true">
      {userLabel ? (
        <td data-label={t('admin.col.user')} className="tl-log__user">
          {userLabel(refusal.userId)}
        </td>
      ) : null}
      <td data-label={timeLabel}>
        <time dateTime={refusal.timestamp}>{formatDate(locale, new Date(refusal.timestamp), { timeZone })}</time>
      </td>
      <td data-label={t('log.model')}>{refusal.model ?? '–'}</td>
      <td className="tl-num" data-label={t('log.input')}>–</td>
      <td className="tl-num" data-label={t('log.output')}>–</td>
      <td className="tl-num" data-label={t('log.total')}>–</td>
      <td className="tl-num" data-label={t('log.cost')}>–</td>
      <td data-label={t('log.status')}>
        <span className="tl-badge tl-badge--refused">{t('log.status.refused')}</span> <span className="tl-muted">{why}</span>
      </td>
    </tr>
  );
}

/** The short name of a time zone for people (`UTC`, `GMT-3`, `BRT`), or the IANA name. */
function zoneName(locale: string, timeZone: string): string {
  try {
    // The locale the text is in (`fr` falls back to English: `GMT+2`, not `UTC+2`).
    const parts = new Intl.DateTimeFormat(resolveLocale(locale), { timeZone, timeZoneName: 'short' }).formatToParts(new Date());
    return parts.find((p) => p.type === 'timeZoneName')?.value ?? timeZone;
  } catch {
    return timeZone;
  }
}
