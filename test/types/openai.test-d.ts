import OpenAI from 'openai';
import type { APIPromise } from 'openai/core/api-promise';
import type { Stream } from 'openai/core/streaming';
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { ChatCompletionStream } from 'openai/lib/ChatCompletionStream';
import type { Response as ResponsesResponse, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { describe, expectTypeOf, it } from 'vitest';
import { createTokenLimiter, withTokenLimits } from '../../src/index.js';

const messages = [{ role: 'user' as const, content: 'hi' }];

describe('a wrapped openai client keeps the SDK types', () => {
  it('is the same type as the client', () => {
    expectTypeOf(withTokenLimits(new OpenAI(), 'u')).toEqualTypeOf<OpenAI>();
    expectTypeOf(createTokenLimiter().wrap(new OpenAI(), 'u')).toEqualTypeOf<OpenAI>();
  });

  it('keeps the create() overloads: stream: true still returns a Stream', () => {
    const client = withTokenLimits(new OpenAI(), 'u');
    expectTypeOf(client.chat.completions.create({ model: 'gpt-4o', messages })).toEqualTypeOf<APIPromise<ChatCompletion>>();
    expectTypeOf(client.chat.completions.create({ model: 'gpt-4o', messages, stream: true })).toEqualTypeOf<APIPromise<Stream<ChatCompletionChunk>>>();
    expectTypeOf(client.chat.completions.stream({ model: 'gpt-4o', messages })).toEqualTypeOf<ChatCompletionStream<null>>();
    expectTypeOf(client.responses.create({ model: 'gpt-4.1', input: 'hi' })).toEqualTypeOf<APIPromise<ResponsesResponse>>();
    expectTypeOf(client.responses.create({ model: 'gpt-4.1', input: 'hi', stream: true })).toEqualTypeOf<APIPromise<Stream<ResponseStreamEvent>>>();
  });

  it('keeps withResponse()', () => {
    const client = withTokenLimits(new OpenAI(), 'u');
    expectTypeOf(client.chat.completions.create({ model: 'gpt-4o', messages }).withResponse()).resolves.toHaveProperty('request_id');
  });
});
