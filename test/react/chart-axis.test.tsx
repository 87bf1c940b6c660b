// @vitest-environment jsdom
import { render } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { BarChart } from '../../src/react/charts/bar-chart.js';
import type { Metric } from '../../src/react/format.js';

const NBSP = /\u00a0/g;

/** The axis labels of a one-day chart whose day is `value`, bottom to top. */
function axisLabels(value: number, metric: Metric, locale = 'en'): string[] {
  const data = { days: [{ day: '2026-05-03', values: { 'gpt-4o-mini': value }, total: value }], series: ['gpt-4o-mini'] };
  const { container, unmount } = render(<BarChart data={data} metric={metric} locale={locale} title="Usage" mode="stacked" />);
  const labels = [...container.querySelectorAll('.tl-chart__axis > g > text')].map((t) => (t.textContent ?? '').replace(NBSP, ' '));
  unmount();
  return labels;
}

describe('<BarChart /> axis labels', () => {
  it('label a few cents or less of spend with their value, not $0.00 or a rounded cent', () => {
    expect(axisLabels(0.004, 'costUsd')).toEqual(['$0', '$0.0025', '$0.005']);
    expect(axisLabels(0.0003, 'costUsd')).toEqual(['$0', '$0.00025', '$0.0005']);
    expect(axisLabels(0.03, 'costUsd')).toEqual(['$0', '$0.025', '$0.05']);
    expect(axisLabels(0.004, 'costUsd', 'pt-BR')).toEqual(['US$ 0', 'US$ 0,0025', 'US$ 0,005']);
  });

  it('keep larger figures short and exact', () => {
    expect(axisLabels(2400, 'costUsd')).toEqual(['$0', '$1.25K', '$2.5K']);
    expect(axisLabels(3, 'costUsd')).toEqual(['$0', '$2.5', '$5']);
    expect(axisLabels(2400, 'tokens')).toEqual(['0', '1.25K', '2.5K']);
    expect(axisLabels(2400, 'tokens', 'pt-BR')).toEqual(['0', '1,25 mil', '2,5 mil']);
  });
});
