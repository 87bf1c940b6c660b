/**
 * Per-user quotas in front of `@google/genai`: generate, stream, chat, automatic function calling
 * (every request of the loop counted), the provider's exact input count, and a refusal.
 * Runs on the local emulator (no key, no network); with GEMINI_API_KEY or GOOGLE_API_KEY set, on
 * the real Gemini API.
 * Run: npx tsx examples/google-genai.ts
 */
import { GoogleGenAI, type CallableTool } from '@google/genai';
import { createTokenLimiter, runWithUser, TokenLimitExceededError, withTokenLimits } from 'token-limits';
import { startEmulator } from 'token-limits/testing';

const apiKey = process.env.GEMINI_API_KEY ?? process.env.GOOGLE_API_KEY;
const emulator = apiKey ? undefined : await startEmulator();
console.log(emulator ? `emulator at ${emulator.url}` : 'real Gemini API');
const MODEL = 'gemini-2.5-flash';

// A request with no maxOutputTokens holds the model's maximum output (65,536 for Gemini 2.5) until
// its usage is known: more than this small daily limit. outputReservation holds less instead.
const limiter = createTokenLimiter({ defaultLimits: [{ id: 'daily', tokens: 20_000, period: 'day' }], outputReservation: 2_048 });
limiter.on('usage', (r) =>
  console.log(`  [charged ${r.userId}: ${r.inputTokens} in + ${r.outputTokens} out, ${r.endpoint}${r.estimated ? ', estimated' : ''}]`),
);

// No user here: each call takes it from runWithUser (or the middleware). `estimator: 'provider'`
// asks Gemini's free countTokens for the exact input before reserving.
const ai = withTokenLimits(
  new GoogleGenAI({ apiKey: apiKey ?? 'emulator', ...(emulator ? { httpOptions: { baseUrl: emulator.googleBaseUrl } } : {}) }),
  undefined,
  { limiter, estimator: 'provider' },
);

await runWithUser('alice', async () => {
  const response = await ai.models.generateContent({ model: MODEL, contents: 'Say hello in Portuguese, in one short sentence.' });
  console.log(response.text);

  const pieces: string[] = [];
  for await (const chunk of await ai.models.generateContentStream({ model: MODEL, contents: 'Count from one to five, in words.' })) {
    pieces.push(chunk.text ?? '');
  }
  console.log(`${pieces.join('')} (${pieces.length} chunks)`);

  const chat = ai.chats.create({ model: MODEL });
  await chat.sendMessage({ message: 'My name is Alice. Reply with one word.' });
  console.log((await chat.sendMessage({ message: 'What is my name? Reply with one word.' })).text);

  // Automatic function calling: the SDK calls the tool and asks again; both requests are charged.
  const weather: CallableTool = {
    tool: async () => ({
      functionDeclarations: [
        { name: 'get_weather', description: 'Weather in a city', parametersJsonSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
      ],
    }),
    callTool: async (calls) => calls.map((c) => ({ functionResponse: { name: c.name ?? 'get_weather', response: { celsius: 21 } } })),
  };
  const answer = await ai.models.generateContent({ model: MODEL, contents: 'What is the weather in Lisbon?', config: { tools: [weather] } });
  console.log(answer.text);

  // Over the limit (the output reservation alone is more than what is left): refused before the
  // request is sent.
  try {
    await ai.models.generateContent({ model: MODEL, contents: 'Write a novel.', config: { maxOutputTokens: 30_000 } });
  } catch (error) {
    if (!(error instanceof TokenLimitExceededError)) throw error;
    console.log(`refused by "${error.ruleId}": ${error.used}/${error.limit} used, ${error.requested} requested`);
  }
});

const usage = await limiter.admin.getUsage('alice');
console.log(`alice: ${usage.used} tokens used, ${usage.reserved} held`);
await limiter.close();
await emulator?.close();
