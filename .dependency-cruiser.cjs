/**
 * The layers of src/, enforced by `npm run lint` (dependency-cruiser). Each arrow may only point down:
 *   kernel  <-  stores/protocol  <-  engine, stores/memory, stores/redis
 *   kernel  <-  tokenizer, i18n  <-  providers  <-  face (index.ts)  <-  integrations, react
 *   kernel  <-  postgres (the ledger: types only from the rest)  <-  cli (with the face)
 * `testing/` may import anything; nothing imports it. Type-only imports count too: a layer that
 * needs another's types belongs above it.
 * The AI SDK integration (integrations/ai -> face/ai-sdk -> providers/ai-sdk) follows the same
 * layers, and `ai` is an optional peer that no source file imports: its middleware are plain
 * objects of hooks, typed structurally.
 */
const layer = (name, from, allowed) => ({
  name,
  comment: `${from} may only import ${allowed.join(', ')}`,
  severity: 'error',
  from: { path: `^src/${from}` },
  to: { path: '^src/', pathNot: [`^src/${from}`, ...allowed.map((a) => `^src/${a}`)] },
});

module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'ai-sdk-never-imported',
      comment: 'ai and @ai-sdk/* are optional peers: the middleware must load without them',
      severity: 'error',
      from: { path: '^src/(?!testing/)' },
      to: { path: '^(node_modules/)?(ai|ai-v7|@ai-sdk/[^/]+)(/|$)' },
    },
    { name: 'nothing-imports-testing', severity: 'error', from: { path: '^src/(?!testing/)' }, to: { path: '^src/testing/' } },
    layer('kernel', 'kernel/', []),
    layer('store-protocol', 'stores/protocol/', ['kernel/']),
    layer('engine', 'engine/', ['kernel/', 'stores/protocol/']),
    layer('memory-store', 'stores/memory/', ['kernel/', 'stores/protocol/']),
    layer('redis-store', 'stores/redis/', ['kernel/', 'stores/protocol/']),
    layer('tokenizer', 'tokenizer/', ['kernel/']),
    layer('i18n', 'i18n/', ['kernel/']),
    layer('providers', 'providers/', ['kernel/', 'tokenizer/']),
    layer('face', 'face/', ['kernel/', 'stores/', 'engine/', 'providers/', 'tokenizer/']),
    layer('integrations', 'integrations/', ['kernel/', 'face/', 'i18n/', 'index.ts']),
    layer('react', 'react/', ['kernel/', 'i18n/']),
    layer('postgres', 'postgres/', ['kernel/']),
    layer('cli', 'cli/', ['index.ts', 'postgres/', 'kernel/']),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
