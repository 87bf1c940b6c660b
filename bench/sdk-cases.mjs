/**
 * The SDK calls the wrapper bench makes, in plain JavaScript so that the processes making them run
 * in plain `node` and import nothing of ours unless they are the wrapped side. Each case makes its
 * client for the emulator's URLs; the same request (same payload) is sent bare and wrapped.
 */
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { GoogleGenerativeAI } from '@google/generative-ai';
import OpenAI from 'openai';

const prompt = 'What is the capital of Portugal? Answer in one word.';
const question = [{ role: 'user', content: prompt }];

/** @type {Record<string, { make(urls: { openaiBaseURL: string, anthropicBaseURL: string, googleBaseUrl: string }): any, calls: Record<'non-stream' | 'stream', (client: any, urls: any) => Promise<unknown>> }>} */
export const SDK_CASES = {
  openai: {
    make: (u) => new OpenAI({ apiKey: 'bench', baseURL: u.openaiBaseURL, maxRetries: 0 }),
    calls: {
      'non-stream': (c) => c.chat.completions.create({ model: 'gpt-4o-mini', messages: question, max_completion_tokens: 20 }),
      stream: async (c) => {
        for await (const _ of await c.chat.completions.create({ model: 'gpt-4o-mini', messages: question, max_completion_tokens: 20, stream: true }));
      },
    },
  },
  anthropic: {
    make: (u) => new Anthropic({ apiKey: 'bench', baseURL: u.anthropicBaseURL, maxRetries: 0 }),
    calls: {
      'non-stream': (c) => c.messages.create({ model: 'claude-haiku-4-5', max_tokens: 20, messages: question }),
      stream: async (c) => {
        for await (const _ of await c.messages.create({ model: 'claude-haiku-4-5', max_tokens: 20, messages: question, stream: true }));
      },
    },
  },
  '@google/genai': {
    make: (u) => new GoogleGenAI({ apiKey: 'bench', httpOptions: { baseUrl: u.googleBaseUrl } }),
    calls: {
      'non-stream': (c) => c.models.generateContent({ model: 'gemini-2.5-flash', contents: prompt, config: { maxOutputTokens: 20 } }),
      stream: async (c) => {
        for await (const _ of await c.models.generateContentStream({ model: 'gemini-2.5-flash', contents: prompt, config: { maxOutputTokens: 20 } }));
      },
    },
  },
  '@google/generative-ai': {
    make: () => new GoogleGenerativeAI('bench'),
    calls: {
      'non-stream': (c, u) =>
        c.getGenerativeModel({ model: 'gemini-2.5-flash', generationConfig: { maxOutputTokens: 20 } }, { baseUrl: u.googleBaseUrl }).generateContent(prompt),
      stream: async (c, u) => {
        const model = c.getGenerativeModel({ model: 'gemini-2.5-flash', generationConfig: { maxOutputTokens: 20 } }, { baseUrl: u.googleBaseUrl });
        const result = await model.generateContentStream(prompt);
        for await (const _ of result.stream);
        await result.response;
      },
    },
  },
};
