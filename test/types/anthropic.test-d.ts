import Anthropic from '@anthropic-ai/sdk';
import type { APIPromise } from '@anthropic-ai/sdk/core/api-promise';
import type { Stream } from '@anthropic-ai/sdk/core/streaming';
import type { MessageStream } from '@anthropic-ai/sdk/lib/MessageStream';
import type { Message, RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import { describe, expectTypeOf, it } from 'vitest';
import { withTokenLimits } from '../../src/index.js';

const params = { model: 'claude-sonnet-5', max_tokens: 100, messages: [{ role: 'user' as const, content: 'hi' }] };

describe('a wrapped Anthropic client keeps the SDK types', () => {
  it('is the same type, with the create() overloads and the stream helper', () => {
    const client = withTokenLimits(new Anthropic(), 'u');
    expectTypeOf(client).toEqualTypeOf<Anthropic>();
    expectTypeOf(client.messages.create(params)).toEqualTypeOf<APIPromise<Message>>();
    expectTypeOf(client.messages.create({ ...params, stream: true })).toEqualTypeOf<APIPromise<Stream<RawMessageStreamEvent>>>();
    expectTypeOf(client.messages.stream(params)).toEqualTypeOf<MessageStream>();
  });
});
