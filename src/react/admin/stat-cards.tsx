import { formatMessage, formatNumber, formatPlural } from '../../i18n/format.js';
import { formatCost } from '../format.js';
import type { UsageStatsJson } from '../api.js';

/** Totals over every user (`GET /stats`): tokens and cost since the store began, active users this month. */
export function StatCards({ stats, locale }: { stats: UsageStatsJson; locale: string }) {
  const cards = [
    { key: 'tokens', label: formatMessage(locale, 'admin.stats.totalTokens'), value: formatNumber(locale, stats.totalTokens) },
    { key: 'cost', label: formatMessage(locale, 'admin.stats.totalCost'), value: formatCost(locale, stats.totalCostUsd) },
    {
      key: 'active',
      label: formatMessage(locale, 'admin.stats.activeUsers'),
      value: formatNumber(locale, stats.activeUsers),
      note: formatPlural(locale, 'admin.stats.knownUsers', stats.users, { count: formatNumber(locale, stats.users) }),
    },
  ];
  return (
    <dl className="tl-cards">
      {cards.map((c) => (
        <div key={c.key} className="tl-card" data-stat={c.key}>
          <dt className="tl-card__label">{c.label}</dt>
          <dd className="tl-card__value">
            {c.value}
            {c.note ? <span className="tl-card__note"> {c.note}</span> : null}
          </dd>
        </div>
      ))}
    </dl>
  );
}
