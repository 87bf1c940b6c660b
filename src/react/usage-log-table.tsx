import { formatDate, formatMessage, formatNumber } from '../i18n/format.js';
import { formatCost } from './format.js';
import type { UsageRecordJson } from './api.js';

export interface UsageLogTableProps {
  records: readonly UsageRecordJson[];
  locale: string;
  timeZone: string;
  caption: string;
  /** Adds a first column with each call's user (the admin view of everyone's calls), as this names them. */
  userLabel?: ((userId: string) => string) | undefined;
}

/**
 * The usage log as a table, newest first: time, model, tokens, cost, and a status column only when
 * some call did not end `ok`. Each cell carries its column's name (`data-label`), which the
 * stylesheet shows when a narrow screen stacks the rows.
 */
export function UsageLogTable({ records, locale, timeZone, caption, userLabel }: UsageLogTableProps) {
  const t = (key: Parameters<typeof formatMessage>[1]) => formatMessage(locale, key);
  const showStatus = records.some((r) => r.status !== 'ok');
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
          {records.length === 0 ? (
            <tr>
              <td colSpan={(showStatus ? 7 : 6) + (userLabel ? 1 : 0)} className="tl-table__empty">
                {t('log.empty')}
              </td>
            </tr>
          ) : (
            records.map((r) => (
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
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}

/** The short name of a time zone for people (`UTC`, `GMT-3`, `BRT`), or the IANA name. */
function zoneName(locale: string, timeZone: string): string {
  try {
    const parts = new Intl.DateTimeFormat(locale, { timeZone, timeZoneName: 'short' }).formatToParts(new Date());
    return parts.find((p) => p.type === 'timeZoneName')?.value ?? timeZone;
  } catch {
    return timeZone;
  }
}
