import type { HistoryPointJson } from '../api.js';
import { utcDay, type Metric } from '../format.js';

const DAY = 86_400_000;

/** One day of a chart: its values per series (model). */
export interface ChartDay {
  /** `YYYY-MM-DD` (UTC). */
  day: string;
  values: Readonly<Record<string, number>>;
  total: number;
}

export interface DailySeries {
  days: ChartDay[];
  /** Series names (models), largest total first. */
  series: string[];
}

/** The value of a history point for a metric. */
export function pointValue(point: HistoryPointJson, metric: Metric): number {
  if (metric === 'costUsd') return point.costUsd;
  if (metric === 'requests') return point.requests;
  return point.totalTokens;
}

/** Most days a chart shows; longer ranges show their last days. */
export const MAX_CHART_DAYS = 93;

/**
 * Daily figures per model from `fromMs` (its UTC day) to `toMs` (exclusive), every day present
 * (zero-filled), at most `MAX_CHART_DAYS` (the last ones). `only` keeps one model.
 */
export function dailySeries(points: readonly HistoryPointJson[], fromMs: number, toMs: number, metric: Metric, only?: string): DailySeries {
  const first = Math.floor(fromMs / DAY) * DAY;
  const lastDay = Math.floor((Math.max(toMs - 1, fromMs)) / DAY) * DAY;
  const start = Math.max(first, lastDay - (MAX_CHART_DAYS - 1) * DAY);
  const byDay = new Map<string, Record<string, number>>();
  for (let t = start; t <= lastDay; t += DAY) byDay.set(utcDay(t), {});
  const totals = new Map<string, number>();
  for (const p of points) {
    if (only !== undefined && p.model !== only) continue;
    const values = byDay.get(utcDay(Date.parse(p.time)));
    if (values === undefined) continue;
    const v = pointValue(p, metric);
    values[p.model] = (values[p.model] ?? 0) + v;
    totals.set(p.model, (totals.get(p.model) ?? 0) + v);
  }
  const series = [...totals.keys()].sort((a, b) => totals.get(b)! - totals.get(a)! || a.localeCompare(b));
  const days = [...byDay].map(([day, values]) => ({ day, values, total: Object.values(values).reduce((a, b) => a + b, 0) }));
  return { days, series };
}

/** The models that appear in history points, sorted by name. */
export function modelsOf(points: readonly HistoryPointJson[]): string[] {
  return [...new Set(points.map((p) => p.model))].sort((a, b) => a.localeCompare(b));
}

/** A round axis maximum at or above `max` (1, 2, 2.5, 5 × 10^n). */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const exp = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * exp >= max) return m * exp;
  return 10 * exp;
}
