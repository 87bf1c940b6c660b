// token-limits/ai with ai 7 and its providers (Node 22): the suite of test/providers/ai-sdk.test.ts.
import { createAnthropic } from 'ai-sdk-anthropic-v4';
import { createGoogleGenerativeAI } from 'ai-sdk-google-v4';
import { createOpenAI } from 'ai-sdk-openai-v4';
import * as ai from 'ai-v7';
import { expect, it } from 'vitest';
import { defineAiSdkSuite } from '../ai-sdk/suite.js';

it('runs ai 7 on Node 22', () => {
  expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(22);
  expect(ai.wrapLanguageModel).toBeTypeOf('function');
});

defineAiSdkSuite('ai 7', { ai, createOpenAI, createAnthropic, createGoogleGenerativeAI } as never);
