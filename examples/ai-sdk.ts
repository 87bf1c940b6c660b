/**
 * Quotas for the Vercel AI SDK: one middleware, any AI SDK provider. Here @ai-sdk/openai and
 * @ai-sdk/anthropic, pointed at the bundled provider emulator by baseURL (no API key, no network).
 * Run: npx tsx examples/ai-sdk.ts
 */
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { embed, generateText, jsonSchema, stepCountIs, streamText, tool, wrapEmbeddingModel, wrapLanguageModel } from 'ai';
import { createTokenLimiter, runWithUser, TokenLimitExceededError } from 'token-limits';
import { tokenLimitsEmbeddingMiddleware, tokenLimitsMiddleware } from 'token-limits/ai';
import { startEmulator } from 'token-limits/testing';

const emulator = await startEmulator();
const limiter = createTokenLimiter({ defaultLimits: [{ id: 'monthly', tokens: 3_000, period: 'month' }] });

const openai = createOpenAI({ apiKey: 'emulated', baseURL: emulator.openaiBaseURL });
const anthropic = createAnthropic({ apiKey: 'emulated', baseURL: `${emulator.url}/v1` });
// One middleware for every model; the user comes from runWithUser (or pass `user` to the middleware).
const middleware = tokenLimitsMiddleware({ limiter });
const gpt = wrapLanguageModel({ model: openai('gpt-4o-mini'), middleware });
const claude = wrapLanguageModel({ model: anthropic('claude-haiku-4-5'), middleware });

await runWithUser('user-42', async () => {
  const { text } = await generateText({ model: gpt, prompt: 'Say hello in Portuguese.', maxOutputTokens: 50 });
  console.log('openai:', text);

  const stream = streamText({ model: claude, prompt: 'Count to five.', maxOutputTokens: 50 });
  console.log('anthropic, streamed:', await stream.text);

  // A tool loop: every model call (every step) is reserved and committed on its own.
  const weather = tool({
    description: 'The weather in a city',
    inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }),
    execute: async ({ city }) => `sunny in ${city}`,
  });
  const loop = await generateText({ model: gpt, prompt: 'Weather in Lisbon?', tools: { weather }, stopWhen: stepCountIs(3), maxOutputTokens: 50 });
  console.log(`tool loop: ${loop.steps.length} steps, answer: ${loop.text}`);

  const embedder = wrapEmbeddingModel({ model: openai.embedding('text-embedding-3-small'), middleware: tokenLimitsEmbeddingMiddleware({ limiter }) });
  const { embedding } = await embed({ model: embedder, value: 'sunny day at the beach' });
  console.log('embedding dimensions:', embedding.length);

  try {
    // No maxOutputTokens: the model's maximum output is held, and it does not fit in what is left.
    await generateText({ model: claude, prompt: 'Write an essay.' });
  } catch (error) {
    if (!(error instanceof TokenLimitExceededError)) throw error;
    console.log(`refused before any request: ${error.remaining} tokens left of ${error.limit}`);
  }
});

await limiter.flush();
for (const record of (await limiter.admin.getUsageLog({ userId: 'user-42' })).reverse()) {
  console.log(`charged ${record.inputTokens} in + ${record.outputTokens} out (${record.provider} ${record.endpoint}, ${record.model}, $${record.costUsd})`);
}
console.log('requests the provider saw:', emulator.requests.length);
await emulator.close();
