/**
 * withTokenLimits(new OpenAI(), userId): quotas with no other change to the calling code.
 * Runs against the local provider emulator by default; set OPENAI_API_KEY to call the real API.
 * Run: npx tsx examples/openai-quickstart.ts
 */
import OpenAI from 'openai';
import { configureTokenLimits, TokenLimitExceededError, withTokenLimits } from 'token-limits';
import { startEmulator } from 'token-limits/testing';

const emulator = process.env.OPENAI_API_KEY ? undefined : await startEmulator();
const limiter = configureTokenLimits({ defaultLimits: [{ id: 'monthly', tokens: 2_000, period: 'month' }] });

const openai = withTokenLimits(new OpenAI(emulator ? { apiKey: 'emulated', baseURL: emulator.openaiBaseURL } : {}), 'user-42');

const completion = await openai.chat.completions.create({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Say hello in Portuguese.' }],
  max_completion_tokens: 50,
});
console.log('reply:', completion.choices[0]?.message.content);

const stream = await openai.chat.completions.create({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Count to five.' }],
  max_completion_tokens: 50,
  stream: true,
});
let text = '';
for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
console.log('streamed:', text);

for (const record of await limiter.admin.getUsageLog({ userId: 'user-42' })) {
  console.log(`charged ${record.inputTokens} in + ${record.outputTokens} out (${record.endpoint}, ${record.model}, $${record.costUsd})`);
}

try {
  // No max_completion_tokens: the call holds the model's maximum output (16,384 tokens for
  // gpt-4o-mini) on top of its input, which does not fit in what is left.
  await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Write an essay.' }] });
} catch (error) {
  if (!(error instanceof TokenLimitExceededError)) throw error;
  console.log(`refused before any request: it needed ${error.requested} tokens, ${error.remaining} left of ${error.limit}, resets ${error.resetAt.toISOString()}`);
}
console.log('requests the provider saw:', emulator?.requests.length ?? 'n/a');
await emulator?.close();
