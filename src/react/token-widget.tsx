import { useId } from 'react';
import { formatMessage, formatPercent } from '../i18n/format.js';
import type { UserUsageJson, WindowUsageJson } from '../kernel/admin-api.js';
import { formatAmount, formatFigure, formatPeriod, formatRenews, type Metric } from './format.js';
import { useApiClient, useResource } from './hooks.js';
import { ProgressBar, usageState } from './progress-bar.js';
import { cx, DEFAULT_BASE_URL, DEFAULT_REFRESH_MS, type TokenLimitsComponentProps } from './props.js';
import { RenderGuard } from './render-guard.js';
import { ErrorView, LoadingView } from './status-views.js';

/** Props of `<TokenWidget />`. */
export interface TokenWidgetProps extends TokenLimitsComponentProps {
  /**
   * Share of the limit (0-1) from which the widget shows its warning state (matching the
   * limiter's first `alertThresholds` is a good choice). At 100% it shows the exceeded state.
   * @default 0.8
   */
  warningThreshold?: number;
  /**
   * Which of the user's rules to show (its id).
   * @default the user's first rule
   */
  ruleId?: string;
  /**
   * The heading.
   * @default the catalogue's "AI usage"
   */
  title?: string;
}

/**
 * The signed-in user's usage of one limit (`GET {baseUrl}/me/usage`): a progress bar, "used / limit",
 * what is left, when it renews, a warning state past `warningThreshold` and an exceeded state at
 * 100%; a disabled user sees that AI features are off.
 */
export function TokenWidget(props: TokenWidgetProps) {
  return (
    <RenderGuard locale={props.locale ?? 'en'} className={cx('tl-widget', props.className)}>
      <TokenWidgetView {...props} />
    </RenderGuard>
  );
}

function TokenWidgetView({
  baseUrl = DEFAULT_BASE_URL,
  fetcher,
  locale = 'en',
  refreshIntervalMs = DEFAULT_REFRESH_MS,
  timeZone,
  refreshKey,
  className,
  warningThreshold = 0.8,
  ruleId,
  title,
}: TokenWidgetProps) {
  const client = useApiClient(baseUrl, fetcher);
  const resource = useResource((signal) => client.meUsage(signal), `${baseUrl}|${refreshKey ?? ''}`, refreshIntervalMs);
  const titleId = useId();
  const { data, error, loading, reload } = resource;
  const win = data ? pickWindow(data, ruleId) : undefined;
  const zone = timeZone ?? win?.rule.timeZone ?? 'UTC';
  const state = data && win ? usageState(win.used, win.limit, warningThreshold, data.isActive) : undefined;

  return (
    <section
      className={cx('tl-widget', state && `tl-widget--${state}`, className)}
      data-state={state ?? (data === undefined && error !== undefined ? 'error' : 'loading')}
      aria-labelledby={titleId}
      aria-busy={loading}
    >
      <h2 id={titleId} className="tl-widget__title">
        {title ?? formatMessage(locale, 'widget.title')}
      </h2>
      {data && win && state ? (
        <WindowView win={win} state={state} locale={locale} timeZone={zone} />
      ) : error !== undefined ? (
        <ErrorView locale={locale} error={error} onRetry={reload} />
      ) : (
        <LoadingView locale={locale} />
      )}
      {data && error !== undefined ? <ErrorView locale={locale} error={error} onRetry={reload} stale /> : null}
    </section>
  );
}

function pickWindow(usage: UserUsageJson, ruleId: string | undefined): WindowUsageJson | undefined {
  return (ruleId === undefined ? undefined : usage.windows.find((w) => w.ruleId === ruleId)) ?? usage.windows[0];
}

function WindowView({ win, state, locale, timeZone }: { win: WindowUsageJson; state: string; locale: string; timeZone: string }) {
  const metric = win.metric as Metric;
  const fraction = win.limit > 0 ? win.used / win.limit : 1;
  const resetAt = new Date(win.resetAt);
  const valueText =
    metric === 'costUsd'
      ? formatMessage(locale, 'usage.usedCost', { used: win.used, limit: win.limit })
      : formatMessage(locale, 'usage.used', { used: win.used, limit: win.limit, unit: formatMessage(locale, `unit.${metric}`) });
  if (state === 'disabled') {
    // A disabled user can make no call: no bar, nothing "left", only the notice and the period.
    return (
      <div className="tl-widget__body">
        <p className="tl-widget__notice tl-widget__notice--disabled" role="status">
          {formatMessage(locale, 'userDisabled')}
        </p>
        <p className="tl-widget__figures">
          <span className="tl-widget__used" data-testid="tl-used">
            {formatMessage(locale, 'widget.usedOfLimit', { used: formatFigure(locale, metric, win.used), limit: formatAmount(locale, metric, win.limit) })}
          </span>{' '}
          <span className="tl-widget__period">{formatPeriod(locale, win.rule.period)}</span>
        </p>
      </div>
    );
  }
  return (
    <div className="tl-widget__body">
      <ProgressBar
        value={win.used}
        max={win.limit}
        label={formatMessage(locale, `widget.progressLabel.${metric}`)}
        valueText={valueText}
        state={state as 'ok'}
      />
      <p className="tl-widget__figures">
        <span className="tl-widget__used" data-testid="tl-used">
          {formatMessage(locale, 'widget.usedOfLimit', { used: formatFigure(locale, metric, win.used), limit: formatAmount(locale, metric, win.limit) })}
        </span>{' '}
        <span className="tl-widget__period">{formatPeriod(locale, win.rule.period)}</span>
      </p>
      <div className="tl-widget__meta">
        <p className="tl-widget__remaining">
          {metric === 'costUsd'
            ? formatMessage(locale, 'usage.remainingCost', { remaining: win.remaining })
            : formatMessage(locale, 'usage.remaining', { remaining: formatAmount(locale, metric, win.remaining) })}
        </p>
        <p className="tl-widget__percent">{formatMessage(locale, 'widget.percentUsed', { percent: formatPercent(locale, fraction) })}</p>
      </div>
      <p className="tl-widget__renews">
        <time dateTime={win.resetAt}>{formatRenews(locale, resetAt, Date.now(), timeZone)}</time>
      </p>
      {state === 'warning' ? (
        <p className="tl-widget__notice tl-widget__notice--warning" role="status">
          {formatMessage(locale, 'widget.warning', { percent: formatPercent(locale, fraction) })}
        </p>
      ) : state === 'exceeded' ? (
        <p className="tl-widget__notice tl-widget__notice--exceeded" role="status">
          {formatMessage(locale, 'widget.exceeded')}
        </p>
      ) : state === 'disabled' ? (
        <p className="tl-widget__notice tl-widget__notice--disabled" role="status">
          {formatMessage(locale, 'userDisabled')}
        </p>
      ) : null}
    </div>
  );
}
