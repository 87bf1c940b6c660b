import { formatCurrency, formatDate, formatMessage, formatNumber } from '../i18n/format.js';
import type { UsageRecordJson } from './api.js';

export interface UsageLogTableProps {
  records: readonly UsageRecordJson[];
  locale: string;
  timeZone: string;
  caption: string;
}

/** The usage log as a table, newest first: time, model, tokens, cost, status. */
export function UsageLogTable({ records, locale, timeZone, caption }: UsageLogTableProps) {
  const t = (key: Parameters<typeof formatMessage>[1]) => formatMessage(locale, key);
  return (
    <div className="tl-table-wrap">
      <table className="tl-table tl-log">
        <caption className="tl-table__caption">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{t('log.time')}</th>
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
            <th scope="col">{t('log.status')}</th>
          </tr>
        </thead>
        <tbody>
          {records.length === 0 ? (
            <tr>
              <td colSpan={7} className="tl-table__empty">
                {t('log.empty')}
              </td>
            </tr>
          ) : (
            records.map((r) => (
              <tr key={r.id} data-record-id={r.id}>
                <td>
                  <time dateTime={r.timestamp}>{formatDate(locale, new Date(r.timestamp), { timeZone })}</time>
                </td>
                <td>{r.model}</td>
                <td className="tl-num">{formatNumber(locale, r.inputTokens)}</td>
                <td className="tl-num">{formatNumber(locale, r.outputTokens)}</td>
                <td className="tl-num">
                  {formatNumber(locale, r.totalTokens)}
                  {r.estimated ? <span className="tl-muted"> ({t('log.estimated')})</span> : null}
                </td>
                <td className="tl-num">{r.costUsd === null ? '–' : formatCurrency(locale, r.costUsd)}</td>
                <td>
                  <span className={`tl-badge tl-badge--${r.status}`}>{t(`log.status.${r.status}`)}</span>
                </td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}
