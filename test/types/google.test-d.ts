import {
  ChatSession,
  GenerativeModel,
  GoogleGenerativeAI,
  type BatchEmbedContentsResponse,
  type CountTokensResponse,
  type EmbedContentResponse,
  type GenerateContentResult,
  type GenerateContentStreamResult,
} from '@google/generative-ai';
import { Chat, GenerateContentResponse, GoogleGenAI, type CountTokensResponse as GenAICountTokensResponse, type EmbedContentResponse as GenAIEmbedContentResponse } from '@google/genai';
import { describe, expectTypeOf, it } from 'vitest';
import { createTokenLimiter, withTokenLimits } from '../../src/index.js';

describe('wrapped @google/generative-ai objects keep the SDK types', () => {
  it('is the same type as the client, the model and the chat', () => {
    expectTypeOf(withTokenLimits(new GoogleGenerativeAI('k'), 'u')).toEqualTypeOf<GoogleGenerativeAI>();
    expectTypeOf(createTokenLimiter().wrap(new GoogleGenerativeAI('k'), 'u')).toEqualTypeOf<GoogleGenerativeAI>();
    const model = new GoogleGenerativeAI('k').getGenerativeModel({ model: 'gemini-2.5-flash' });
    expectTypeOf(withTokenLimits(model, 'u')).toEqualTypeOf<GenerativeModel>();
    expectTypeOf(withTokenLimits(model.startChat(), 'u')).toEqualTypeOf<ChatSession>();
  });

  it('keeps the method signatures: { stream, response } from generateContentStream', () => {
    const model = withTokenLimits(new GoogleGenerativeAI('k'), 'u').getGenerativeModel({ model: 'gemini-2.5-flash' });
    expectTypeOf(model.generateContent('hi')).toEqualTypeOf<Promise<GenerateContentResult>>();
    expectTypeOf(model.generateContentStream('hi')).toEqualTypeOf<Promise<GenerateContentStreamResult>>();
    expectTypeOf(model.countTokens('hi')).toEqualTypeOf<Promise<CountTokensResponse>>();
    expectTypeOf(model.embedContent('hi')).toEqualTypeOf<Promise<EmbedContentResponse>>();
    expectTypeOf(model.batchEmbedContents({ requests: [] })).toEqualTypeOf<Promise<BatchEmbedContentsResponse>>();
    const chat = model.startChat();
    expectTypeOf(chat).toEqualTypeOf<ChatSession>();
    expectTypeOf(chat.sendMessageStream('hi')).toEqualTypeOf<Promise<GenerateContentStreamResult>>();
  });
});

describe('a wrapped @google/genai client keeps the SDK types', () => {
  it('is the same type as the client', () => {
    expectTypeOf(withTokenLimits(new GoogleGenAI({ apiKey: 'k' }), 'u')).toEqualTypeOf<GoogleGenAI>();
  });

  it('keeps the method signatures: generateContentStream resolves to an AsyncGenerator', () => {
    const ai = withTokenLimits(new GoogleGenAI({ apiKey: 'k' }), 'u');
    expectTypeOf(ai.models.generateContent({ model: 'm', contents: 'hi' })).toEqualTypeOf<Promise<GenerateContentResponse>>();
    expectTypeOf(ai.models.generateContentStream({ model: 'm', contents: 'hi' })).toEqualTypeOf<Promise<AsyncGenerator<GenerateContentResponse>>>();
    expectTypeOf(ai.models.embedContent({ model: 'm', contents: 'hi' })).toEqualTypeOf<Promise<GenAIEmbedContentResponse>>();
    expectTypeOf(ai.models.countTokens({ model: 'm', contents: 'hi' })).toEqualTypeOf<Promise<GenAICountTokensResponse>>();
    const chat = ai.chats.create({ model: 'm' });
    expectTypeOf(chat).toEqualTypeOf<Chat>();
    expectTypeOf(chat.sendMessageStream({ message: 'hi' })).toEqualTypeOf<Promise<AsyncGenerator<GenerateContentResponse>>>();
  });
});
