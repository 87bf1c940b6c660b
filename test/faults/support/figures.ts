import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Measured figures of the fault suite. Each test records what it measured (admitted vs expected,
 * overspend, phantom usage, hung promises, duplicate effects, usage lost); the global teardown
 * prints them as one table, and `.tmp/faults/figures.json` keeps them for the README.
 */
export interface Figures {
  /** Scenario id of reliability.md §4 (S1, F1, N1 ...). */
  scenario: string;
  /** What was run, in a few words. */
  name: string;
  /** The pass criterion, as reliability.md states it. */
  criterion: string;
  /** Measured values: numbers, or short strings. */
  measured: Record<string, number | string | boolean>;
}

export const FIGURES_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '.tmp', 'faults', 'figures.jsonl');

/** Records the figures of one scenario (appended; the global setup clears the file first). */
export function recordFigures(figures: Figures): void {
  mkdirSync(dirname(FIGURES_FILE), { recursive: true });
  appendFileSync(FIGURES_FILE, `${JSON.stringify(figures)}\n`);
}
