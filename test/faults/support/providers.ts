import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { GoogleGenerativeAI } from '@google/generative-ai';
import OpenAI from 'openai';
import type { Emulator, EmulatorBehavior } from '../../../src/testing/index.js';

/**
 * One entry per wrapped provider call the fault suite drives: how to build the bare SDK client
 * (with a request timeout and no SDK retries when asked), make a call, stream with an abort after
 * k chunks using the SDK's own mechanism, and which usage fields the provider reports.
 */
export interface ProviderCall {
  name: string;
  provider: 'openai' | 'anthropic' | 'google';
  /** Whether the SDK retries 429/5xx by itself (Stainless SDKs: twice by default). */
  sdkRetries: number;
  /** Stream events before the first text delta (the emulator's framing of this API). */
  leadingEvents: number;
  /**
   * Output tokens an aborted call is charged with no usage seen: the whole output hold (40, the
   * call's maximum) for a model that bills hidden reasoning, since the provider may have billed
   * thinking that never arrived; 0 otherwise.
   */
  abortedOutputCharge: number;
  make(emulator: Emulator, options: CallOptions): object;
  call(client: object, emulator: Emulator, options: CallOptions): Promise<unknown>;
  /** Reads the whole stream; `abortAfter` aborts (the SDK's own way) once that many chunks arrived. */
  stream(client: object, emulator: Emulator, options: CallOptions, abortAfter?: number): Promise<number>;
  /** Usage overrides that put `value` in the input-token field. */
  malformedInput(value: unknown): Usage;
  explicitZero: Usage;
}

type Usage = NonNullable<EmulatorBehavior['usage']>;

export interface CallOptions {
  timeoutMs?: number;
  noRetries?: boolean;
}

const question = 'What is the weather in Lisbon today? Answer in a few words.';
const messages = [{ role: 'user' as const, content: question }];

async function count(iterable: AsyncIterable<unknown>, abortAfter: number | undefined, abort: () => void): Promise<number> {
  let n = 0;
  for await (const _ of iterable) {
    n += 1;
    if (abortAfter !== undefined && n === abortAfter) abort();
  }
  return n;
}

export const PROVIDER_CALLS: ProviderCall[] = [
  {
    name: 'openai chat.completions',
    leadingEvents: 1,
    abortedOutputCharge: 0,
    provider: 'openai',
    sdkRetries: 2,
    make: (e, o) => new OpenAI({ apiKey: 't', baseURL: e.openaiBaseURL, ...(o.timeoutMs ? { timeout: o.timeoutMs } : {}), ...(o.noRetries ? { maxRetries: 0 } : {}) }),
    call: (c) => (c as OpenAI).chat.completions.create({ model: 'gpt-4o-mini', messages, max_completion_tokens: 40 }),
    stream: async (c, _e, _o, abortAfter) => {
      const s = await (c as OpenAI).chat.completions.create({ model: 'gpt-4o-mini', messages, max_completion_tokens: 40, stream: true });
      return count(s, abortAfter, () => s.controller.abort());
    },
    malformedInput: (v) => ({ prompt_tokens: v as never }),
    explicitZero: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
  },
  {
    name: 'openai responses',
    leadingEvents: 4,
    abortedOutputCharge: 0,
    provider: 'openai',
    sdkRetries: 2,
    make: (e, o) => new OpenAI({ apiKey: 't', baseURL: e.openaiBaseURL, ...(o.timeoutMs ? { timeout: o.timeoutMs } : {}), ...(o.noRetries ? { maxRetries: 0 } : {}) }),
    call: (c) => (c as OpenAI).responses.create({ model: 'gpt-4.1-mini', input: question, max_output_tokens: 40 }),
    stream: async (c, _e, _o, abortAfter) => {
      const s = await (c as OpenAI).responses.create({ model: 'gpt-4.1-mini', input: question, max_output_tokens: 40, stream: true });
      return count(s, abortAfter, () => s.controller.abort());
    },
    malformedInput: (v) => ({ input_tokens: v as never }),
    explicitZero: { input_tokens: 0, output_tokens: 0, total_tokens: 0 },
  },
  {
    name: 'anthropic messages',
    leadingEvents: 3,
    abortedOutputCharge: 0,
    provider: 'anthropic',
    sdkRetries: 2,
    make: (e, o) => new Anthropic({ apiKey: 't', baseURL: e.anthropicBaseURL, ...(o.timeoutMs ? { timeout: o.timeoutMs } : {}), ...(o.noRetries ? { maxRetries: 0 } : {}) }),
    call: (c) => (c as Anthropic).messages.create({ model: 'claude-haiku-4-5', max_tokens: 40, messages }),
    stream: async (c, _e, _o, abortAfter) => {
      const s = await (c as Anthropic).messages.create({ model: 'claude-haiku-4-5', max_tokens: 40, messages, stream: true });
      return count(s, abortAfter, () => s.controller.abort());
    },
    malformedInput: (v) => ({ input_tokens: v as never }),
    explicitZero: { input_tokens: 0, output_tokens: 0 },
  },
  {
    name: '@google/generative-ai generateContent',
    leadingEvents: 0,
    abortedOutputCharge: 40,
    provider: 'google',
    sdkRetries: 0,
    make: () => new GoogleGenerativeAI('t'),
    call: (c, e, o) =>
      (c as GoogleGenerativeAI)
        .getGenerativeModel({ model: 'gemini-2.5-flash', generationConfig: { maxOutputTokens: 40 } }, { baseUrl: e.googleBaseUrl, ...(o.timeoutMs ? { timeout: o.timeoutMs } : {}) })
        .generateContent(question),
    stream: async (c, e, o, abortAfter) => {
      const controller = new AbortController();
      const model = (c as GoogleGenerativeAI).getGenerativeModel(
        { model: 'gemini-2.5-flash', generationConfig: { maxOutputTokens: 40 } },
        { baseUrl: e.googleBaseUrl, ...(o.timeoutMs ? { timeout: o.timeoutMs } : {}) },
      );
      const result = await model.generateContentStream(question, { signal: controller.signal });
      result.response.catch(() => {});
      return count(result.stream, abortAfter, () => controller.abort());
    },
    malformedInput: (v) => ({ promptTokenCount: v as never }),
    explicitZero: { promptTokenCount: 0, candidatesTokenCount: 0, totalTokenCount: 0 },
  },
  {
    name: '@google/genai models.generateContent',
    leadingEvents: 0,
    abortedOutputCharge: 40,
    provider: 'google',
    sdkRetries: 0,
    make: (e, o) => new GoogleGenAI({ apiKey: 't', httpOptions: { baseUrl: e.googleBaseUrl, ...(o.timeoutMs ? { timeout: o.timeoutMs } : {}) } }),
    call: (c) => (c as GoogleGenAI).models.generateContent({ model: 'gemini-2.5-flash', contents: question, config: { maxOutputTokens: 40 } }),
    stream: async (c, _e, _o, abortAfter) => {
      const controller = new AbortController();
      const s = await (c as GoogleGenAI).models.generateContentStream({
        model: 'gemini-2.5-flash',
        contents: question,
        config: { maxOutputTokens: 40, abortSignal: controller.signal },
      });
      return count(s, abortAfter, () => controller.abort());
    },
    malformedInput: (v) => ({ promptTokenCount: v as never }),
    explicitZero: { promptTokenCount: 0, candidatesTokenCount: 0, totalTokenCount: 0 },
  },
];
