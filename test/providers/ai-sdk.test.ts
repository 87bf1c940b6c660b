// token-limits/ai with ai 6 and its providers (Node 20). The same suite runs for ai 7 in test/node22/.
import { createAnthropic } from '@ai-sdk/anthropic';
import { createGoogleGenerativeAI } from '@ai-sdk/google';
import { createOpenAI } from '@ai-sdk/openai';
import * as ai from 'ai';
import { defineAiSdkSuite } from '../ai-sdk/suite.js';

defineAiSdkSuite('ai 6', { ai, createOpenAI, createAnthropic, createGoogleGenerativeAI } as never);
