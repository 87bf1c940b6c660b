import { useEffect, useId, useRef, useState, type CSSProperties, type RefObject, type ReactNode } from 'react';
import { formatMessage, formatPlural } from '../../i18n/format.js';
import { formatAxis, formatDay, formatFigure, type Metric } from '../format.js';
import { niceMax, type DailySeries } from './chart-data.js';

/** Fallback colours of the series; themes set `--tl-series-1` ... `--tl-series-8`. */
const PALETTE = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#0891b2', '#db2777', '#65a30d', '#64748b'];

/** The fill of series `index` (a CSS variable with a fallback, so the chart reads without the stylesheet). */
export function seriesColor(index: number): string {
  const i = ((index % PALETTE.length) + PALETTE.length) % PALETTE.length;
  return `var(--tl-series-${i + 1}, ${PALETTE[i]})`;
}

export interface BarChartProps {
  data: DailySeries;
  metric: Metric;
  locale: string;
  /** The chart's visible title. */
  title: string;
  /** `stacked`: one bar per day, models stacked; `grouped`: one bar per model side by side. */
  mode: 'stacked' | 'grouped';
  /** Colour order: a model's colour is its index here (stable across filters). Defaults to `data.series`. */
  colorKeys?: readonly string[] | undefined;
  /** Controls of the chart (a filter), shown under its title, above the bars they act on. */
  toolbar?: ReactNode;
}

const H = 200;
const DEFAULT_WIDTH = 640;

/**
 * The width of an element in CSS pixels, followed with a ResizeObserver (so the SVG is drawn at
 * 1 unit = 1 pixel and its text keeps its size); `fallback` before the first measure, on the
 * server and where ResizeObserver is missing.
 */
function useWidth(ref: RefObject<HTMLElement | null>, fallback: number): number {
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === 'undefined') return undefined;
    const measure = () => {
      const w = Math.round(el.getBoundingClientRect().width);
      if (w > 0) setWidth(Math.max(240, w));
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, [ref]);
  return width;
}
const PAD = { top: 10, right: 8, bottom: 24, left: 52 };

/**
 * Daily bars as plain SVG: each day is a group with an accessible label (its total and its figures
 * per model), each bar has a `<title>` tooltip, and the same figures are in a table under a
 * disclosure (the fallback for assistive technology and for copying).
 */
export function BarChart({ data, metric, locale, title, mode, colorKeys, toolbar }: BarChartProps) {
  const titleId = useId();
  const boxRef = useRef<HTMLDivElement>(null);
  const W = useWidth(boxRef, DEFAULT_WIDTH);
  const { days, series } = data;
  const keys = colorKeys ?? series;
  const colorOf = (model: string) => seriesColor(Math.max(0, keys.indexOf(model)));
  const highest = Math.max(0, ...days.map((d) => (mode === 'stacked' ? d.total : Math.max(0, ...Object.values(d.values)))));
  // Counts are whole numbers: an axis of at least 0-1-2 keeps its middle line whole.
  const max = niceMax(metric === 'costUsd' ? highest : Math.max(2, highest));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const band = plotW / Math.max(1, days.length);
  const barW = Math.max(1, band * 0.72);
  const y = (v: number) => PAD.top + plotH - (v / max) * plotH;
  const labelEvery = Math.max(1, Math.ceil(days.length / Math.max(2, Math.floor(plotW / 72))));
  const empty = days.every((d) => d.total === 0);
  const fig = (v: number) => formatFigure(locale, metric, v);
  const dayLabel = (day: string) => formatDay(locale, day);
  const first = days[0];
  const last = days.at(-1);

  return (
    <figure className={`tl-chart tl-chart--${mode}`} aria-labelledby={titleId} style={{ margin: 0 }}>
      <figcaption id={titleId} className="tl-chart__title">
        {title}
      </figcaption>
      {toolbar === undefined ? null : <div className="tl-chart__toolbar">{toolbar}</div>}
      <div ref={boxRef} className="tl-chart__box">
      <svg
        className="tl-chart__svg"
        viewBox={`0 0 ${W} ${H}`}
        width="100%"
        role="group"
        aria-labelledby={titleId}
        aria-describedby={first && last ? `${titleId}-summary` : undefined}
        style={{ display: 'block', maxWidth: '100%', height: 'auto', overflow: 'visible' }}
      >
        {first && last ? (
          <desc id={`${titleId}-summary`}>
            {formatPlural(locale, 'chart.summary', days.length, { from: dayLabel(first.day), to: dayLabel(last.day), max: fig(Math.max(0, ...days.map((d) => d.total))) })}
          </desc>
        ) : null}
        <g className="tl-chart__axis" aria-hidden="true">
          {[0, 0.5, 1].map((f) => (
            <g key={f}>
              <line x1={PAD.left} x2={W - PAD.right} y1={y(max * f)} y2={y(max * f)} style={{ stroke: 'var(--tl-chart-grid, #e5e7eb)', strokeWidth: 1 }} />
              <text x={PAD.left - 6} y={y(max * f) + 4} textAnchor="end" style={{ fill: 'var(--tl-color-muted, #4b5563)', fontSize: 11 }}>
                {formatAxis(locale, metric, max * f)}
              </text>
            </g>
          ))}
          {days.map((d, i) =>
            i % labelEvery === 0 ? (
              <text key={d.day} x={PAD.left + band * i + band / 2} y={H - 6} textAnchor="middle" style={{ fill: 'var(--tl-color-muted, #4b5563)', fontSize: 11 }}>
                {dayLabel(d.day)}
              </text>
            ) : null,
          )}
        </g>
        {days.map((d, i) => {
          const x0 = PAD.left + band * i + (band - barW) / 2;
          const label = [
            formatMessage(locale, 'chart.dayTotal', { day: dayLabel(d.day), value: fig(d.total) }),
            ...series.filter((s) => (d.values[s] ?? 0) > 0).map((s) => `${s}: ${fig(d.values[s] ?? 0)}`),
          ].join('; ');
          let stack = 0;
          const present = series.filter((s) => (d.values[s] ?? 0) > 0);
          const groupW = barW / Math.max(1, present.length);
          return (
            <g key={d.day} className="tl-chart__day" role="img" aria-label={label} data-day={d.day}>
              <title>{label}</title>
              {present.map((s, j) => {
                const v = d.values[s] ?? 0;
                const style: CSSProperties = { fill: colorOf(s) };
                const text = formatMessage(locale, 'chart.bar', { day: dayLabel(d.day), model: s, value: fig(v) });
                if (mode === 'grouped') {
                  return (
                    <rect key={s} className="tl-chart__bar" x={x0 + groupW * j} width={Math.max(1, groupW - 1)} y={y(v)} height={Math.max(0, y(0) - y(v))} style={style} data-model={s}>
                      <title>{text}</title>
                    </rect>
                  );
                }
                const top = y(stack + v);
                const bottom = y(stack);
                stack += v;
                return (
                  <rect key={s} className="tl-chart__bar" x={x0} width={barW} y={top} height={Math.max(0, bottom - top)} style={style} data-model={s}>
                    <title>{text}</title>
                  </rect>
                );
              })}
            </g>
          );
        })}
      </svg>
      </div>
      {empty ? <p className="tl-chart__empty">{formatMessage(locale, 'chart.empty')}</p> : null}
      {series.length > 0 ? (
        <ul className="tl-legend" aria-label={formatMessage(locale, 'chart.model')}>
          {series.map((s) => (
            <li key={s} className="tl-legend__item">
              <span className="tl-legend__swatch" aria-hidden="true" style={{ display: 'inline-block', width: '0.75em', height: '0.75em', marginInlineEnd: '0.35em', background: colorOf(s) }} />
              {s}
            </li>
          ))}
        </ul>
      ) : null}
      <details className="tl-chart__table">
        <summary>{formatMessage(locale, 'chart.showTable')}</summary>
        <table className="tl-table">
          <thead>
            <tr>
              <th scope="col">{formatMessage(locale, 'chart.day')}</th>
              {series.map((s) => (
                <th key={s} scope="col">
                  {s}
                </th>
              ))}
              <th scope="col">{formatMessage(locale, 'chart.total')}</th>
            </tr>
          </thead>
          <tbody>
            {days.map((d) => (
              <tr key={d.day} data-day={d.day}>
                <th scope="row">{formatDay(locale, d.day, true)}</th>
                {series.map((s) => (
                  <td key={s} className="tl-num">
                    {fig(d.values[s] ?? 0)}
                  </td>
                ))}
                <td className="tl-num">{fig(d.total)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
