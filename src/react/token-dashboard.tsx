import { useId, useMemo } from 'react';
import { formatMessage, formatPlural } from '../i18n/format.js';
import type { HistoryJson, RefusalRecordJson, UsageRecordJson, UserUsageJson } from './api.js';
import { BarChart } from './charts/bar-chart.js';
import { dailySeries, MAX_CHART_DAYS, modelsOf } from './charts/chart-data.js';
import { formatAmount, viewerTimeZone, type Metric } from './format.js';
import { useApiClient, useReloadAtReset, useResource } from './hooks.js';
import { countProp, cx, DEFAULT_BASE_URL, DEFAULT_REFRESH_MS, type TokenLimitsComponentProps } from './props.js';
import { RenderGuard } from './render-guard.js';
import { ErrorView, LoadingView } from './status-views.js';
import { UsageLogTable } from './usage-log-table.js';

/** Props of `<TokenDashboard />`. */
export interface TokenDashboardProps extends TokenLimitsComponentProps {
  /**
   * How many of the latest calls the log table shows (1-10000).
   * @default 10
   */
  logLimit?: number;
  /**
   * `stacked`: one bar per day with the models stacked; `grouped`: the models side by side.
   * @default 'stacked'
   */
  chartMode?: 'stacked' | 'grouped';
  /**
   * What the chart counts.
   * @default the metric of the user's first rule (tokens, requests or costUsd)
   */
  metric?: Metric;
  /**
   * The heading.
   * @default the catalogue's "Your usage this period"
   */
  title?: string;
}

interface DashboardData {
  usage: UserUsageJson;
  history: HistoryJson;
  log: UsageRecordJson[];
  refusals: RefusalRecordJson[];
}

const DAY = 86_400_000;
/** The longest range `GET /me/history` reads by day. */
const MAX_HISTORY_DAYS = 366;

/**
 * The signed-in user's usage over the current period of their first rule: daily bars per model
 * (`GET {baseUrl}/me/history?granularity=day&from=periodStart&to=resetAt`, days without calls shown
 * as zero) and the latest calls (`GET {baseUrl}/me/log`). Periods longer than 93 days show their
 * last 93 days.
 */
export function TokenDashboard(props: TokenDashboardProps) {
  return (
    <RenderGuard locale={props.locale ?? 'en'} className={cx('tl-dashboard', props.className)} componentProps={props}>
      <TokenDashboardView {...props} />
    </RenderGuard>
  );
}

function TokenDashboardView({
  baseUrl = DEFAULT_BASE_URL,
  fetcher,
  locale = 'en',
  refreshIntervalMs = DEFAULT_REFRESH_MS,
  requestTimeoutMs,
  timeZone,
  refreshKey,
  className,
  logLimit = 10,
  chartMode = 'stacked',
  metric,
  title,
}: TokenDashboardProps) {
  const client = useApiClient(baseUrl, fetcher, locale, requestTimeoutMs);
  const limit = countProp(logLimit, 1, 10_000, 10);
  const { data, error, loading, reload } = useResource<DashboardData>(
    async (signal) => {
      const usage = await client.meUsage(signal);
      const start = Date.parse(usage.periodStart);
      const end = Date.parse(usage.resetAt);
      // The chart's days (see dailySeries): the last MAX_CHART_DAYS up to today, not up to the
      // reset, which a long period (a year) puts months ahead, past every call made so far.
      const lastDay = Math.floor(Math.max(Math.min(end, Date.now() + 1) - 1, start) / DAY) * DAY;
      const from = Math.max(start, lastDay - (MAX_CHART_DAYS - 1) * DAY);
      // The API reads at most MAX_HISTORY_DAYS by day: a longer period stops there (past today).
      const to = Math.min(end, from + MAX_HISTORY_DAYS * DAY);
      const [history, log, refused] = await Promise.all([
        client.meHistory({ granularity: 'day', from: new Date(from).toISOString(), to: new Date(to).toISOString() }, signal),
        client.meLog({ limit }, signal),
        // An older server without the route (404) shows the calls without refusals.
        client.meRefusals({ limit: 20 }, signal).catch((error: unknown) => {
          if (signal.aborted) throw error;
          return { refusals: [] };
        }),
      ]);
      return { usage, history, log: log.records, refusals: refused.refusals };
    },
    `${baseUrl}|${limit}|${refreshKey ?? ''}`,
    refreshIntervalMs,
    baseUrl,
  );
  // The new period's figures, chart and log once the window renews, even without polling.
  useReloadAtReset(data?.usage.resetAt, reload);
  const titleId = useId();
  const zone = useMemo(() => timeZone ?? viewerTimeZone(), [timeZone]);
  const chartMetric: Metric = metric ?? ((data?.usage.metric as Metric | undefined) ?? 'tokens');
  const models = useMemo(() => (data ? modelsOf(data.history.points) : []), [data]);
  // The period so far (from its start to today): the days to come are not drawn as empty bars;
  // where they lead is said by the projection below the chart, marked as such.
  const series = useMemo(
    () =>
      data
        ? dailySeries(data.history.points, Date.parse(data.usage.periodStart), Math.min(Date.parse(data.usage.resetAt), Date.now() + 1), chartMetric)
        : undefined,
    [data, chartMetric],
  );
  const projection = data ? projectUsage(data.usage, chartMetric, Date.now()) : undefined;
  // After an admin reset the bars (every call of the period) add up to more than what counts
  // toward the limit: say so, so that the chart and the widget do not seem to disagree.
  // Bars are UTC days: a period that starts within one (a rule in another time zone) shares its
  // first bar with the previous period's last hours, which must not read as a reset. (A date-only
  // string parses as UTC midnight.)
  const charted =
    series && data && data.usage.metric === chartMetric
      ? series.days.filter((d) => Date.parse(d.day) >= Date.parse(data.usage.periodStart)).reduce((sum, d) => sum + d.total, 0)
      : undefined;
  const wasReset = charted !== undefined && data !== undefined && data.usage.used + data.usage.limit * 1e-9 + 1e-9 < charted;

  return (
    <section className={cx('tl-dashboard', className)} aria-labelledby={titleId} aria-busy={loading}>
      <h2 id={titleId} className="tl-dashboard__title">
        {title ?? formatMessage(locale, 'dashboard.title')}
      </h2>
      {data && series ? (
        <>
          <p className="tl-dashboard__period tl-muted">
            {formatMessage(
              locale,
              'dashboard.period',
              { from: new Date(data.usage.periodStart), to: new Date(Date.parse(data.usage.resetAt) - 1) },
              { timeZone: timeZone ?? data.usage.windows[0]?.rule.timeZone ?? 'UTC' },
            )}
          </p>
          <BarChart data={series} metric={chartMetric} locale={locale} title={formatMessage(locale, `chart.title.${chartMetric}`)} mode={chartMode} colorKeys={models} />
          {wasReset ? (
            <p className="tl-dashboard__reset tl-muted" data-testid="tl-reset-note">
              {formatPlural(locale, 'dashboard.resetNote', data.usage.used, { used: formatAmount(locale, chartMetric, data.usage.used) })}
            </p>
          ) : null}
          {projection !== undefined ? (
            <p className="tl-dashboard__projection tl-muted" data-testid="tl-projection">
              {formatMessage(
                locale,
                'dashboard.projection',
                { value: formatAmount(locale, chartMetric, projection), to: new Date(Date.parse(data.usage.resetAt) - 1) },
                { timeZone: timeZone ?? data.usage.windows[0]?.rule.timeZone ?? 'UTC' },
              )}
            </p>
          ) : null}
          <UsageLogTable records={data.log} refusals={data.refusals} locale={locale} timeZone={zone} caption={formatMessage(locale, 'log.title')} />
          {error !== undefined ? <ErrorView locale={locale} error={error} onRetry={reload} stale /> : null}
        </>
      ) : error !== undefined ? (
        <ErrorView locale={locale} error={error} onRetry={reload} />
      ) : (
        <LoadingView locale={locale} />
      )}
    </section>
  );
}

/**
 * Where the first rule's usage ends at the end of its period if it goes on at the pace so far (a
 * straight line), rounded for people; undefined before an hour of the period has passed, when
 * the chart shows another metric, or once the period is over.
 */
export function projectUsage(usage: UserUsageJson, metric: Metric, now: number): number | undefined {
  const start = Date.parse(usage.periodStart);
  const end = Date.parse(usage.resetAt);
  const elapsed = now - start;
  if (usage.metric !== metric || !(elapsed >= 3_600_000) || now >= end || !(end > start)) return undefined;
  const projected = (usage.used / elapsed) * (end - start);
  return metric === 'costUsd' ? Math.round(projected * 100) / 100 : Math.round(projected);
}
