/**
 * Anthropic with quotas: the user comes from the request context (runWithUser) instead of the
 * wrapper. Runs against the emulator by default; set ANTHROPIC_API_KEY to call the real API.
 * Run: npx tsx examples/anthropic.ts
 */
import Anthropic from '@anthropic-ai/sdk';
import { createTokenLimiter, runWithUser } from 'token-limits';
import { startEmulator } from 'token-limits/testing';

const emulator = process.env.ANTHROPIC_API_KEY ? undefined : await startEmulator();
const limiter = createTokenLimiter({ defaultLimits: [{ id: 'daily-budget', costUsd: 0.5, period: 'day', timeZone: 'America/Sao_Paulo' }] });

// Wrapped once at start-up, with no user: each call charges the user of its context.
const anthropic = limiter.wrap(new Anthropic(emulator ? { apiKey: 'emulated', baseURL: emulator.anthropicBaseURL } : {}));

await runWithUser('maria', async () => {
  const message = await anthropic.messages.create({
    model: 'claude-sonnet-5',
    max_tokens: 200,
    messages: [{ role: 'user', content: 'Olá! Como vai?' }],
  });
  console.log('reply:', message.content[0]?.type === 'text' ? message.content[0].text : message.content[0]?.type);

  const stream = anthropic.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'Resuma em uma frase.' }] });
  console.log('streamed:', await stream.finalText());
});

const usage = await limiter.admin.getUsage('maria');
console.log(`maria spent $${usage.used.toFixed(6)} of $${usage.limit} today (resets ${usage.resetAt.toISOString()})`);
await emulator?.close();
