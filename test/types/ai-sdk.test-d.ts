// The middleware fits the AI SDK's own middleware types, for ai 6 and ai 7, without casts.
import { createOpenAI } from '@ai-sdk/openai';
import { embed, wrapEmbeddingModel, wrapLanguageModel, type EmbeddingModelMiddleware, type LanguageModelMiddleware } from 'ai';
import type { EmbeddingModelMiddleware as EmbeddingModelMiddleware7, LanguageModelMiddleware as LanguageModelMiddleware7 } from 'ai-v7';
import { describe, expectTypeOf, it } from 'vitest';
import { tokenLimitsEmbeddingMiddleware, tokenLimitsMiddleware } from '../../src/integrations/ai/index.js';

describe('token-limits/ai types', () => {
  it('is a LanguageModelMiddleware and an EmbeddingModelMiddleware of ai 6 and ai 7', () => {
    expectTypeOf(tokenLimitsMiddleware({ user: 'u' })).toExtend<LanguageModelMiddleware>();
    expectTypeOf(tokenLimitsMiddleware({ user: 'u' })).toExtend<LanguageModelMiddleware7>();
    expectTypeOf(tokenLimitsEmbeddingMiddleware({ user: 'u' })).toExtend<EmbeddingModelMiddleware>();
    expectTypeOf(tokenLimitsEmbeddingMiddleware({ user: 'u' })).toExtend<EmbeddingModelMiddleware7>();
  });

  it('wraps models as the AI SDK types them', () => {
    const openai = createOpenAI({ apiKey: 'k' });
    const model = wrapLanguageModel({ model: openai('gpt-4o-mini'), middleware: tokenLimitsMiddleware({ user: ({ headers }) => headers?.['x-user'] }) });
    expectTypeOf(model.doGenerate).toBeFunction();
    const embedder = wrapEmbeddingModel({ model: openai.embedding('text-embedding-3-small'), middleware: tokenLimitsEmbeddingMiddleware() });
    expectTypeOf(embed({ model: embedder, value: 'x' })).resolves.toHaveProperty('embedding');
    // @ts-expect-error user must be a string, a UserContext or a function
    tokenLimitsMiddleware({ user: 42 });
  });
});
