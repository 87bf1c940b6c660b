/**
 * Runs the example app on Redis, with the page of token-limits/react widgets at http://localhost:3000
 * and the OpenAI emulator unless OPENAI_API_KEY is set.
 * Run: npx tsx examples/express-app/server.ts   (PORT=3000, REDIS_URL=redis://127.0.0.1:6379 by default)
 */
import { onAlert } from 'token-limits/http';
import { startExample } from './start.js';

const example = await startExample({
  port: Number(process.env.PORT ?? 3000),
  // BUILD_WEB=0 serves the page already in web/dist; by default it is rebuilt at each start.
  buildWeb: process.env.BUILD_WEB === '0' ? 'never' : 'always',
});
const { limiter } = example;
limiter.on('alert', (a) => console.log(`alert: ${a.userId} used ${Math.round(a.threshold * 100)}% of "${a.ruleId}"`));
const hook = process.env.WEBHOOK_URL && process.env.WEBHOOK_SECRET ? onAlert(limiter, { url: process.env.WEBHOOK_URL, secret: process.env.WEBHOOK_SECRET }) : undefined;

console.log(`example app on ${example.url} (${example.emulator ? 'OpenAI emulator' : 'real OpenAI API'}, Redis ${process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'})`);
console.log(`open ${example.url}/ and sign in as alice or bob (users) or root (admin)`);
console.log(`try: curl -c jar -H 'content-type: application/json' -d '{"user":"alice"}' ${example.url}/login`);
console.log(`     curl -b jar -H 'content-type: application/json' -d '{"message":"hi"}' ${example.url}/chat`);

async function shutdown(): Promise<void> {
  await hook?.close();
  await example.close();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
