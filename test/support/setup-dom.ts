/**
 * Vitest setup for every test file. In the jsdom files (test/react), Testing Library's findBy* and
 * waitFor give up after 1 s by default, which a loaded machine (Chromium and Redis tests running
 * beside them) can exceed: they wait up to 5 s, returning as soon as what they wait for is there.
 */
if (typeof document !== 'undefined') {
  const { configure } = await import('@testing-library/react');
  configure({ asyncUtilTimeout: 5000 });
}

export {};
