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

export interface ProgressBarProps {
  value: number;
  max: number;
  /** Accessible name (`Token usage`). */
  label: string;
  /** Accessible value (`1,500 of 100,000 tokens used`). */
  valueText: string;
  state: UsageState;
  className?: string | undefined;
}

/**
 * `role="progressbar"` with its values; sized and coloured inline through CSS variables, so it
 * shows without the stylesheet and themes through `--tl-progress-*` and `--tl-color-*`.
 */
export function ProgressBar({ value, max, label, valueText, state, className }: ProgressBarProps) {
  const fraction = max > 0 ? Math.min(1, Math.max(0, value / max)) : 1;
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
      aria-valuemin={0}
      // A limit of 0 is a full bar, as drawn: a range of 0 to 0 is no range for assistive tech.
      aria-valuemax={max > 0 ? max : 1}
      aria-valuenow={max > 0 ? Math.min(Math.max(0, value), max) : 1}
      aria-valuetext={valueText}
      style={track}
    >
      <div className="tl-progress__fill" style={fill} />
    </div>
  );
}
