import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { FIGURES_FILE, type Figures } from './figures.js';

/** Clears the figures file before the suite and prints every recorded figure after it. */
export function setup(): void {
  mkdirSync(dirname(FIGURES_FILE), { recursive: true });
  rmSync(FIGURES_FILE, { force: true });
}

export function teardown(): void {
  if (!existsSync(FIGURES_FILE)) return;
  const rows = readFileSync(FIGURES_FILE, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Figures);
  rows.sort((a, b) => a.scenario.localeCompare(b.scenario, 'en', { numeric: true }));
  writeFileSync(FIGURES_FILE.replace(/\.jsonl$/, '.json'), JSON.stringify(rows, null, 2));
  const lines = [
    '',
    '## Fault suite: measured figures',
    '',
    '| scenario | run | pass criterion | measured |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.scenario} | ${r.name} | ${r.criterion} | ${Object.entries(r.measured).map(([k, v]) => `${k}: ${String(v)}`).join('; ')} |`),
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
