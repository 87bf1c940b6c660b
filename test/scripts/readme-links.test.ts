/** scripts/readme-links.mjs: the link check that scripts/check-package.mjs runs on the packed README. */
import { describe, expect, it } from 'vitest';
// @ts-expect-error a plain .mjs script without declarations
import { anchorsOf, brokenLinks, linksOf, slug } from '../../scripts/readme-links.mjs';

const pages: Record<string, string> = {
  'README.md': [
    '# Title',
    '## Fetch API and node:http',
    '## `token-limits/react` widgets',
    'See [a](#fetch-api-and-nodehttp), [b](#token-limitsreact-widgets), [c](docs/a.md#part-two),',
    '[d](examples/), [e](https://example.com/x), `[not](a-link.md)`.',
    '```md',
    '[inside a code block](nowhere.md)',
    '```',
  ].join('\n'),
  'docs/a.md': '# A\n## Part two\n',
};
const read = (file: string) => pages[file]!;
const files = ['README.md', 'docs/a.md', 'examples/x.ts'];

describe('README link check', () => {
  it('slugs headings the way GitHub and npm do', () => {
    expect(slug('Fetch API and node:http')).toBe('fetch-api-and-nodehttp');
    expect(slug('Stores: MemoryStore, RedisStore')).toBe('stores-memorystore-redisstore');
    expect([...anchorsOf('# A\n## A\n')]).toEqual(['a', 'a-1']);
  });

  it('ignores links in code', () => {
    expect(linksOf(pages['README.md']!)).toEqual(['#fetch-api-and-nodehttp', '#token-limitsreact-widgets', 'docs/a.md#part-two', 'examples/', 'https://example.com/x']);
  });

  it('accepts links to shipped files, folders and headings', () => {
    expect(brokenLinks('README.md', files, read)).toEqual([]);
  });

  it('reports a file that does not ship, a missing heading and a missing local anchor', () => {
    const readme = '# T\n[a](src/testing/README.md) [b](docs/a.md#nope) [c](#gone) [d](docs/a.md)';
    expect(brokenLinks('README.md', files, (f: string) => (f === 'README.md' ? readme : read(f)))).toEqual([
      'src/testing/README.md: src/testing/README.md is not in the package',
      'docs/a.md#nope: no heading #nope in docs/a.md',
      '#gone: no heading #gone in README.md',
    ]);
  });
});
