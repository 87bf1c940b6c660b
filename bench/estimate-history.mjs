import { performance } from 'node:perf_hooks';
/**
 * Estimates of a chat request that resends its history, with or without the default tokenizer's
 * kept counts, in this process alone:
 *   node bench/estimate-history.mjs true|false
 * The request: a system prompt (1,160 characters), 20 earlier messages (20,700 characters) and a
 * new last message, different on every call. 200 untimed estimates, then 200 timed; prints
 * `countCache p50-µs`. Run both settings in turn, each in its own process, a few times.
 */
const cache = process.argv[2] === 'true';
if (process.argv[2] !== 'true' && process.argv[2] !== 'false') throw new Error('usage: node bench/estimate-history.mjs true|false');
const lib = await import(new URL('../dist/index.js', import.meta.url).href);
const words = 'the quick brown fox jumps over lazy dogs while estimating tokens for billing purposes and quotas'.split(' ');
let seed = 1; const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
const message = (n) => Array.from({ length: n }, () => words[Math.floor(rnd() * words.length)]).join(' ');
const history = Array.from({ length: 20 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: message(170) }));
const system = 'You are a helpful assistant. '.repeat(40);
const tokenizer = lib.gptTokenizer({ countCache: cache });
await tokenizer.warmup(['o200k_base']);
const run = async () => { const t = performance.now(); await lib.estimateOpenAIRequest('chat.completions', { model: 'gpt-4o', messages: [{ role: 'system', content: system }, ...history, { role: 'user', content: message(40) }] }, { tokenizer }); return performance.now() - t; };
for (let i = 0; i < 200; i += 1) await run();
const times = [];
for (let i = 0; i < 200; i += 1) times.push(await run());
times.sort((a, b) => a - b);
console.log(`countCache ${cache}: p50 ${(times[100] * 1000).toFixed(0)} µs per estimate`);
