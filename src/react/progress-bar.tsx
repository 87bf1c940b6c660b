import type { CSSProperties } from 'react';

/** Usage states, from the share of the limit used. */
export type UsageState = 'ok' | 'warning' | 'exceeded' | 'disabled';

const FILL: Record<UsageState, string> = {
  ok: 'var(--tl-color-ok, #2563eb)',
  warning: 'var(--tl-color-warning, #b45309)',
  exceeded: 'var(--tl-color-danger, #b91c1c)',
  disabled: 'var(--tl-color-muted, #6b7280)',
};

/** The state of `used` against `limit`: exceeded at 100%, warning from `threshold`. */
export function usageState(used: number, limit: number, threshold: number, active = true): UsageState {
  if (!active) return 'disabled';
  if (limit <= 0 || used >= limit) return 'exceeded';
  // A threshold that is no number (a prop read from a URL or a form: `Number('high')`) would compare
  // false with every share and never warn: it takes the props' default instead.
  return used / limit >= (Number.isNaN(threshold) ? DEFAULT_WARNING_THRESHOLD : threshold) ? 'warning' : 'ok';
}

/** The `warningThreshold` prop's default. */
export const DEFAULT_WARNING_THRESHOLD = 0.8;

/**
 * The share of the limit used, as shown in percent: 1 with no limit; below the limit at most 0.99,
 * so that 99,999 of 100,000 does not read "100% used" beside "1 token left".
 */
export function shareUsed(used: number, limit: number): number {
  return limit > 0 ? (used < limit ? Math.min(used / limit, 0.99) : used / limit) : 1;
}

/**
 * The whole percent a bar announces as `aria-valuenow`: the share shown beside it ("85% used"),
 * never a float such as 33.33333333333333, below 100 while under the limit, 100 at and past it.
 */
export function percentNow(used: number, limit: number): number {
  if (!Number.isFinite(used) || Number.isNaN(limit)) return 0;
  return Math.min(100, Math.max(0, Math.round(shareUsed(used, limit) * 100)));
}

export interface ProgressBarProps {
  /** Amount used, in the limit's unit. */
  value: number;
  /** The limit. */
  max: number;
  /** Accessible name (`Token usage`). */
  label: string;
  /** Accessible value, read instead of the percent (`1,500 of 100,000 tokens used`): see `usedText`. */
  valueText: string;
  state: UsageState;
  className?: string | undefined;
}

/**
 * `role="progressbar"` with its values; sized and coloured inline through CSS variables, so it
 * shows without the stylesheet and themes through `--tl-progress-*` and `--tl-color-*`.
 */
export function ProgressBar({ value, max, label, valueText, state, className }: ProgressBarProps) {
  // As the percent: a bar under the limit is never drawn full.
  const fraction = Number.isFinite(value) ? Math.min(1, Math.max(0, shareUsed(value, max))) : 0;
  const track: CSSProperties = {
    height: 'var(--tl-progress-height, 0.625rem)',
    background: 'var(--tl-progress-track, #e5e7eb)',
    borderRadius: 'var(--tl-progress-radius, 999px)',
    overflow: 'hidden',
  };
  const fill: CSSProperties = { width: `${(fraction * 100).toFixed(2)}%`, height: '100%', background: FILL[state] };
  return (
    <div
      className={className ? `tl-progress tl-progress--${state} ${className}` : `tl-progress tl-progress--${state}`}
      role="progressbar"
      aria-label={label}
      // In whole percent (the share shown beside the bar), not in the limit's unit: a cost of
      // $0.333333 would be read out digit by digit. A limit of 0 is a full bar, as drawn.
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={percentNow(value, max)}
      aria-valuetext={valueText}
      style={track}
    >
      <div className="tl-progress__fill" style={fill} />
    </div>
  );
}
