// React 18 smoke test of the packed `token-limits/react`, run by check-package.mjs in a fresh project
// that installed the tarball with react@18, react-dom@18 and jsdom (the repository's own tests run
// React 19; npm's peer check keeps both out of one node_modules). It mounts every component with
// react-dom/client in jsdom against the real admin API (createAdminHandler on a MemoryStore, called
// in-process by the `fetcher` prop) and checks the figures each one shows.
'use strict';
const assert = require('node:assert/strict');
const { JSDOM } = require('jsdom');

const dom = new JSDOM('<!doctype html><html><body></body></html>', { url: 'http://localhost/' });
// Node 20 already has fetch, Request, Response, AbortController: keep those, take the DOM from jsdom
// (only what jsdom defines, so a component's `typeof requestAnimationFrame` checks stay honest).
for (const key of ['window', 'document', 'navigator', 'HTMLElement', 'Element', 'Node', 'MutationObserver', 'getComputedStyle']) {
  const value = key === 'window' ? dom.window : dom.window[key];
  if (!(key in globalThis) && value !== undefined) Object.defineProperty(globalThis, key, { value, configurable: true, writable: true });
}
globalThis.IS_REACT_ACT_ENVIRONMENT = true;

const React = require('react');
const { createRoot } = require('react-dom/client');
// React 18.3 exports act from react; earlier 18.x only from react-dom/test-utils.
const act = React.act ?? require('react-dom/test-utils').act;
const { createTokenLimiter, MemoryStore } = require('token-limits');
const { createAdminHandler } = require('token-limits/http');
const { TokenWidget, TokenDashboard, AdminTokenPanel } = require('token-limits/react');

assert.equal(React.version.split('.')[0], '18', `expected React 18, got ${React.version}`);

const BASE = 'http://localhost/admin/api';
const text = (el) => (el?.textContent ?? '').replace(/\u00a0/g, ' ');

async function until(what, probe, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; page: ${text(document.body).slice(0, 300)}`);
    await act(() => new Promise((resolve) => setTimeout(resolve, 20)));
  }
}

async function mount(element) {
  const host = document.createElement('div');
  document.body.appendChild(host);
  const root = createRoot(host);
  await act(async () => root.render(element));
  return { host, unmount: () => act(() => root.unmount()) };
}

async function main() {
  const limiter = createTokenLimiter({ store: new MemoryStore(), defaultLimits: [{ id: 'monthly', tokens: 100000, period: 'month' }] });
  const handler = createAdminHandler({
    limiter,
    basePath: '/admin/api',
    authorize: (request) => {
      const user = request.headers.get('x-user');
      if (!user) return null;
      return request.headers.get('x-admin') === 'yes' ? { role: 'admin', userId: user } : { role: 'user', userId: user };
    },
  });
  const as = (userId, admin = false) => (url, init = {}) =>
    handler(new Request(url, { ...init, headers: { ...init.headers, 'x-user': userId, ...(admin ? { 'x-admin': 'yes' } : {}) } }));
  const r = await limiter.reserve('alice', { tokens: 1500 });
  await limiter.commit(r, { inputTokens: 1000, outputTokens: 500, model: 'gpt-4o-mini', provider: 'openai' });

  // TokenWidget, en and pt-BR.
  const widget = await mount(React.createElement(TokenWidget, { baseUrl: BASE, fetcher: as('alice'), refreshIntervalMs: 0 }));
  const bar = await until('the widget progress bar', () => widget.host.querySelector('[role="progressbar"]'));
  // A whole percent (1,500 of 100,000 is 1.5%, shown and announced as 2%), the figures as text.
  assert.equal(bar.getAttribute('aria-valuenow'), '2');
  assert.equal(bar.getAttribute('aria-valuemax'), '100');
  assert.match(bar.getAttribute('aria-valuetext'), /1,500 of 100,000 tokens/);
  assert.equal(text(widget.host.querySelector('.tl-widget__remaining')), '98,500 tokens left');
  await widget.unmount();
  const widgetPt = await mount(React.createElement(TokenWidget, { baseUrl: BASE, fetcher: as('alice'), locale: 'pt-BR', refreshIntervalMs: 0 }));
  await until('the pt-BR widget', () => widgetPt.host.querySelector('[role="progressbar"]'));
  assert.equal(text(widgetPt.host.querySelector('.tl-widget__remaining')), '98.500 tokens restantes');
  await widgetPt.unmount();

  // TokenDashboard: the usage log shows the call.
  const dashboard = await mount(React.createElement(TokenDashboard, { baseUrl: BASE, fetcher: as('alice'), refreshIntervalMs: 0 }));
  await until('the dashboard log row', () => text(dashboard.host).includes('gpt-4o-mini'));
  await dashboard.unmount();

  // AdminTokenPanel: the user list shows alice and her usage.
  const panel = await mount(React.createElement(AdminTokenPanel, { baseUrl: BASE, fetcher: as('root', true), refreshIntervalMs: 0 }));
  await until('alice in the admin panel', () => text(panel.host).includes('alice') && text(panel.host).includes('1,500'));
  await panel.unmount();

  await limiter.close();
  console.log(`React ${React.version}: TokenWidget (en, pt-BR), TokenDashboard and AdminTokenPanel render the admin API's figures`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
