/**
 * A synchronous `require` usable from both builds. Bundlers replace a bare `require` in ES module
 * output with a stub that throws, so `createRequire` is always used: from `__filename` in the
 * CommonJS bundle, from `import.meta.url` in the ES module bundle and under test runners.
 */
import { createRequire } from 'node:module';

let cached: NodeJS.Require | undefined;

/** Returns a `require` function, or `undefined` where none can be made (non-Node runtimes). */
export function nodeRequire(): NodeJS.Require | undefined {
  if (cached !== undefined) return cached;
  // The working directory is a last resort (some loaders run ES modules without import.meta.url).
  const bases = [
    () => (typeof __filename === 'string' && __filename.length > 0 ? __filename : undefined),
    () => import.meta.url,
    () => `${process.cwd()}/`,
  ];
  for (const base of bases) {
    try {
      const from = base();
      if (typeof from === 'string' && from.length > 0) {
        cached = createRequire(from);
        return cached;
      }
    } catch {
      // try the next base
    }
  }
  return undefined;
}
