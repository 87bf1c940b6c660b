import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SUBPATHS } from '../../subpaths.config.js';
import { TokenLimitsError } from '../../src/index.js';

/**
 * README's Errors section against what the package exports: every error class of every entry point
 * is in it, those that extend TokenLimitsError as a row of its table (with their code), the others
 * named as not being TokenLimitsErrors, so that a user who catches by README is not surprised.
 */
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = /\n## Errors\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';
const rows = new Map(
  [...section.matchAll(/^\| `(\w+)` \| `(\w+)` \|/gm)].map((m) => [m[1]!, m[2]!] as const),
);

async function errorClasses(): Promise<Array<{ entry: string; name: string; ctor: abstract new (...args: never[]) => Error }>> {
  const found = [];
  for (const s of SUBPATHS) {
    const mod = (await import(`../../${s.source}`)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(mod)) {
      if (typeof value === 'function' && value.prototype instanceof Error) {
        found.push({ entry: s.specifier, name, ctor: value as abstract new (...args: never[]) => Error });
      }
    }
  }
  return found;
}

describe("README's Errors section", () => {
  it('has a table', () => {
    expect(rows.size).toBeGreaterThan(5);
  });

  it('lists every TokenLimitsError subclass in its table, and names every other error class the package exports', async () => {
    const classes = await errorClasses();
    expect(classes.length).toBeGreaterThan(rows.size);
    const subclasses = classes.filter((c) => c.ctor.prototype instanceof TokenLimitsError).map((c) => c.name);
    expect([...new Set(subclasses)].sort()).toEqual([...rows.keys()].sort());
    const others = classes.filter((c) => c.ctor !== TokenLimitsError && !(c.ctor.prototype instanceof TokenLimitsError));
    for (const other of others) expect(section, `${other.name} (${other.entry}) is not named in README's Errors section`).toContain(`\`${other.name}\``);
  });
});
