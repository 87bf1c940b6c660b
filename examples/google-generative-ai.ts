/**
 * Per-user quotas in front of `@google/generative-ai`: a model, a stream, a chat, and a refusal.
 * Runs on the local emulator (no key, no network); with GEMINI_API_KEY or GOOGLE_API_KEY set, on
 * the real Gemini API.
 * Run: npx tsx examples/google-generative-ai.ts
 */
import { GoogleGenerativeAI } from '@google/generative-ai';
import { createTokenLimiter, TokenLimitExceededError, withTokenLimits } from 'token-limits';
import { startEmulator } from 'token-limits/testing';

const apiKey = process.env.GEMINI_API_KEY ?? process.env.GOOGLE_API_KEY;
const emulator = apiKey ? undefined : await startEmulator();
console.log(emulator ? `emulator at ${emulator.url}` : 'real Gemini API');

const limiter = createTokenLimiter({ defaultLimits: [{ id: 'daily', tokens: 20_000, period: 'day' }] });
limiter.on('usage', (r) =>
  console.log(`  [charged ${r.userId}: ${r.inputTokens} in + ${r.outputTokens} out, ${r.endpoint}${r.estimated ? ', estimated' : ''}]`),
);

// Wrap the client once per user: every model it makes (and every chat they start) is counted.
const genAI = withTokenLimits(new GoogleGenerativeAI(apiKey ?? 'emulator'), 'alice', { limiter });
const model = genAI.getGenerativeModel(
  { model: 'gemini-2.5-flash', generationConfig: { maxOutputTokens: 400 } },
  emulator ? { baseUrl: emulator.googleBaseUrl } : {},
);

const { response } = await model.generateContent('Say hello in Portuguese, in one short sentence.');
console.log(response.text());

// Streams: `stream` and `response` both work; usage is committed from the last chunk.
const result = await model.generateContentStream('Count from one to five, in words.');
const pieces: string[] = [];
for await (const chunk of result.stream) pieces.push(chunk.text());
console.log(`${pieces.join('')} (${pieces.length} chunks, ${(await result.response).usageMetadata?.totalTokenCount} tokens)`);

// Chats keep their history; each message is counted with the history it sends.
const chat = model.startChat();
await chat.sendMessage('My name is Alice. Reply with one word.');
console.log((await chat.sendMessage('What is my name? Reply with one word.')).response.text());

// Counting tokens is free and passes through uncharged.
console.log(`countTokens: ${(await model.countTokens('How many tokens is this?')).totalTokens}`);

// Over the limit (the output reservation alone is more than what is left): refused before the
// request is sent.
try {
  await model.generateContent({ contents: [{ role: 'user', parts: [{ text: 'Write a novel.' }] }], generationConfig: { maxOutputTokens: 30_000 } });
} catch (error) {
  if (!(error instanceof TokenLimitExceededError)) throw error;
  console.log(`refused by "${error.ruleId}": ${error.used}/${error.limit} used, ${error.requested} requested`);
}

const usage = await limiter.admin.getUsage('alice');
console.log(`alice: ${usage.used} tokens used, ${usage.reserved} held`);
await limiter.close();
await emulator?.close();
