import { useId } from 'react';
import { formatMessage, formatPercent, formatPlural } from '../i18n/format.js';
import type { UserUsageJson, WindowUsageJson } from '../kernel/admin-api.js';
import { formatAmount, formatCost, formatPeriod, formatRenews, formatUsed, usedText, type Metric } from './format.js';
import { useApiClient, useReloadAtReset, useResource } from './hooks.js';
import { ProgressBar, shareUsed, usageState } from './progress-bar.js';
import { cx, DEFAULT_BASE_URL, DEFAULT_REFRESH_MS, type TokenLimitsComponentProps } from './props.js';
import { RenderGuard } from './render-guard.js';
import { ErrorView, LoadingView } from './status-views.js';

/** Props of `<TokenWidget />`. */
export interface TokenWidgetProps extends TokenLimitsComponentProps {
  /**
   * Share of the limit (0-1) from which the widget shows its warning state (matching the
   * limiter's first `alertThresholds` is a good choice). At 100% it shows the exceeded state.
   * `NaN` takes the default.
   * @default 0.8
   */
  warningThreshold?: number;
  /**
   * Which of the user's rules to show (its id; an id of their account's rules works too).
   * @default the user's first rule
   *
   * When the user is in an account (a team) and one of the account's rules binds tighter than
   * that rule (less left in the same unit, else a larger share used), the widget shows the
   * account's rule instead, labelled as the team's limit. Account rules that count only some
   * models or providers are not considered.
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
    <RenderGuard locale={props.locale ?? 'en'} className={cx('tl-widget', props.className)} componentProps={props}>
      <TokenWidgetView {...props} />
    </RenderGuard>
  );
}

function TokenWidgetView({
  baseUrl = DEFAULT_BASE_URL,
  fetcher,
  locale = 'en',
  refreshIntervalMs = DEFAULT_REFRESH_MS,
  requestTimeoutMs,
  timeZone,
  refreshKey,
  className,
  warningThreshold = 0.8,
  ruleId,
  title,
}: TokenWidgetProps) {
  const client = useApiClient(baseUrl, fetcher, locale, requestTimeoutMs);
  const resource = useResource((signal) => client.meUsage(signal), `${baseUrl}|${refreshKey ?? ''}`, refreshIntervalMs, baseUrl);
  const titleId = useId();
  const { data, error, loading, reload } = resource;
  const picked = data ? pickWindow(data, ruleId) : undefined;
  const win = picked?.win;
  const zone = timeZone ?? win?.rule.timeZone ?? 'UTC';
  const state = data && win ? usageState(win.used, win.limit, warningThreshold, data.isActive) : undefined;
  // Its figures and "Renews in" are the new period's once the window renews, even without polling.
  useReloadAtReset(win?.resetAt, reload);

  return (
    <section
      className={cx('tl-widget', state && `tl-widget--${state}`, className)}
      data-state={state ?? (data === undefined && error !== undefined ? 'error' : 'loading')}
      data-scope={picked ? (picked.team ? 'account' : 'user') : undefined}
      aria-labelledby={titleId}
      aria-busy={loading}
    >
      <h2 id={titleId} className="tl-widget__title">
        {title ?? formatMessage(locale, 'widget.title')}
      </h2>
      {data && win && state ? (
        <WindowView win={win} team={picked!.team} state={state} locale={locale} timeZone={zone} />
      ) : error !== undefined ? (
        <ErrorView locale={locale} error={error} onRetry={reload} />
      ) : (
        <LoadingView locale={locale} />
      )}
      {data && error !== undefined ? <ErrorView locale={locale} error={error} onRetry={reload} stale /> : null}
    </section>
  );
}

/**
 * The window to show: the user's rule `ruleId` (else their first), unless a rule of their account
 * binds tighter (see `TokenWidgetProps.ruleId`); `team` says it is the account's.
 */
export function pickWindow(usage: UserUsageJson, ruleId: string | undefined): { win: WindowUsageJson; team: boolean } | undefined {
  const teamWindows = usage.account?.windows ?? [];
  if (ruleId !== undefined && !usage.windows.some((w) => w.ruleId === ruleId)) {
    const named = teamWindows.find((w) => w.ruleId === ruleId);
    if (named) return { win: named, team: true };
  }
  const own = (ruleId === undefined ? undefined : usage.windows.find((w) => w.ruleId === ruleId)) ?? usage.windows[0];
  if (own === undefined) return undefined;
  let best = { win: own, team: false };
  for (const w of teamWindows) {
    if (w.rule.models === undefined && w.rule.providers === undefined && bindsTighter(w, best.win)) best = { win: w, team: true };
  }
  return best;
}

/** Less left in the same unit, else a larger share of the limit used or held. */
function bindsTighter(a: WindowUsageJson, b: WindowUsageJson): boolean {
  if (a.metric === b.metric) return a.remaining < b.remaining;
  const share = (w: WindowUsageJson) => (w.limit > 0 ? (w.used + w.reserved) / w.limit : Number.POSITIVE_INFINITY);
  return share(a) > share(b);
}

function WindowView({ win, team, state, locale, timeZone }: { win: WindowUsageJson; team: boolean; state: string; locale: string; timeZone: string }) {
  const metric = win.metric as Metric;
  const fraction = shareUsed(win.used, win.limit);
  const resetAt = new Date(win.resetAt);
  // Used rounded down (formatUsed), so that it never reads as the limit while calls still pass.
  const used = formatUsed(locale, metric, win.used);
  const valueText = usedText(locale, metric, win.used, win.limit);
  if (state === 'disabled') {
    // A disabled user can make no call: no bar, nothing "left", only the notice and the period.
    return (
      <div className="tl-widget__body">
        <p className="tl-widget__notice tl-widget__notice--disabled" role="status">
          {formatMessage(locale, 'userDisabled')}
        </p>
        <p className="tl-widget__figures">
          <span className="tl-widget__used" data-testid="tl-used">
            {formatMessage(locale, 'widget.usedOfLimit', { used, limit: formatAmount(locale, metric, win.limit) })}
          </span>{' '}
          <span className="tl-widget__period">{formatPeriod(locale, win.rule.period)}</span>
        </p>
      </div>
    );
  }
  return (
    <div className="tl-widget__body">
      {team ? <p className="tl-widget__scope">{formatMessage(locale, 'widget.team')}</p> : null}
      <ProgressBar
        value={win.used}
        max={win.limit}
        label={team ? `${formatMessage(locale, 'widget.team')}: ${formatMessage(locale, `widget.progressLabel.${metric}`)}` : formatMessage(locale, `widget.progressLabel.${metric}`)}
        valueText={valueText}
        state={state as 'ok'}
      />
      <p className="tl-widget__figures">
        <span className="tl-widget__used" data-testid="tl-used">
          {formatMessage(locale, 'widget.usedOfLimit', { used, limit: formatAmount(locale, metric, win.limit) })}
        </span>{' '}
        <span className="tl-widget__period">{formatPeriod(locale, win.rule.period)}</span>
      </p>
      <div className="tl-widget__meta">
        <p className="tl-widget__remaining">
          {metric === 'costUsd'
            ? // One dollar exactly takes the singular; any other amount, cents included, the plural.
              formatPlural(locale, 'usage.remainingCost', Math.round(win.remaining * 100) === 100 ? 1 : 2, { remaining: formatCost(locale, win.remaining) })
            : formatPlural(locale, 'usage.remaining', win.remaining, { remaining: formatAmount(locale, metric, win.remaining) })}
        </p>
        <p className="tl-widget__percent">{formatMessage(locale, 'widget.percentUsed', { percent: formatPercent(locale, fraction) })}</p>
      </div>
      <p className="tl-widget__renews">
        <time dateTime={win.resetAt}>{formatRenews(locale, resetAt, Date.now(), timeZone)}</time>
      </p>
      {state === 'warning' ? (
        <p className="tl-widget__notice tl-widget__notice--warning" role="status">
          {formatMessage(locale, team ? 'widget.teamWarning' : 'widget.warning', { percent: formatPercent(locale, fraction) })}
        </p>
      ) : state === 'exceeded' ? (
        <p className="tl-widget__notice tl-widget__notice--exceeded" role="status">
          {formatMessage(locale, team ? 'widget.teamExceeded' : 'widget.exceeded')}
        </p>
      ) : state === 'disabled' ? (
        <p className="tl-widget__notice tl-widget__notice--disabled" role="status">
          {formatMessage(locale, 'userDisabled')}
        </p>
      ) : null}
    </div>
  );
}
