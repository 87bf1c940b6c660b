// Checks every link of a README against the files of a packed tarball: a relative link must name
// a file (or a folder holding files) that ships, and a `#fragment` must name a heading of the
// target page as npm and GitHub slug it. Links to other sites are not fetched (no network).
// Usage: node scripts/readme-links.mjs <tarball.tgz>; also imported by scripts/check-package.mjs.
import { execFileSync } from 'node:child_process';
import { posix } from 'node:path';

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading) {
  return heading
    .replace(/`/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Anchors of a Markdown page: its headings' slugs (with -1, -2 for repeats) and explicit ids. */
export function anchorsOf(markdown) {
  const seen = new Map();
  const anchors = new Set();
  const text = markdown.replace(/```[\s\S]*?```/g, '');
  for (const [, heading] of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(heading);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const [, id] of text.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) anchors.add(id);
  return anchors;
}

/** Markdown links `[text](target)` outside code blocks and inline code. */
export function linksOf(markdown) {
  const text = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]);
}

/**
 * Problems with the links of `readme` (a path inside the package, e.g. 'README.md') given the
 * package's file list and a reader of shipped Markdown files; an empty array when all resolve.
 */
export function brokenLinks(readme, files, read) {
  const problems = [];
  const shipped = new Set(files);
  for (const link of linksOf(read(readme))) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto:
    const [rawPath, fragment] = link.split('#', 2);
    const target = rawPath ? posix.normalize(posix.join(posix.dirname(readme), decodeURI(rawPath))).replace(/\/$/, '') : readme;
    const isFile = shipped.has(target);
    const isFolder = !isFile && files.some((f) => f.startsWith(`${target}/`));
    if (!isFile && !isFolder) {
      problems.push(`${link}: ${target} is not in the package`);
      continue;
    }
    if (fragment !== undefined && isFile && target.endsWith('.md') && !anchorsOf(read(target)).has(fragment)) {
      problems.push(`${link}: no heading #${fragment} in ${target}`);
    }
  }
  return problems;
}

/** Checks the README of a packed tarball; throws listing every broken link. */
export function checkTarballReadme(tarball) {
  const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' })
    .split('\n')
    .filter((f) => f.startsWith('package/') && !f.endsWith('/'))
    .map((f) => f.slice('package/'.length));
  const read = (file) => execFileSync('tar', ['xzf', tarball, '-O', `package/${file}`], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const problems = brokenLinks('README.md', files, read);
  if (problems.length > 0) throw new Error(`README links that do not resolve in the package:\n  ${problems.join('\n  ')}`);
  return linksOf(read('README.md')).length;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const count = checkTarballReadme(process.argv[2]);
  console.log(`README: ${count} links, all resolve in the package`);
}
