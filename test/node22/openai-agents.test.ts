/**
 * `@openai/agents` (0.15+, on openai 7) through a wrapped client: an agent with a function tool
 * gives the same results as an unwrapped run, and the usage recorded equals the emulator's.
 */
import { Agent, Runner, setTracingDisabled, tool } from '@openai/agents';
import { OpenAIProvider } from '@openai/agents-openai';
import OpenAI from 'openai-v7';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { createTokenLimiter, withTokenLimits } from '../../src/index.js';
import { useEmulator } from '../emulator/harness.js';
import { emulatorTotals, usageLog } from '../providers/helpers.js';

const emulator = useEmulator();
setTracingDisabled(true);

function weatherAgent(calls: string[]) {
  const getWeather = tool({
    name: 'get_weather',
    description: 'Get the weather in a city',
    parameters: z.object({ city: z.string() }),
    execute: async ({ city }) => {
      calls.push(city);
      return `${city}: 21 degrees, sunny`;
    },
  });
  return new Agent({ name: 'Weather', instructions: 'Answer with the weather.', model: 'gpt-4.1', tools: [getWeather] });
}

function runnerFor(client: OpenAI, useResponses: boolean) {
  return new Runner({ modelProvider: new OpenAIProvider({ openAIClient: client as never, useResponses }), tracingDisabled: true });
}

describe('@openai/agents with a wrapped openai 7 client', () => {
  for (const useResponses of [true, false]) {
    for (const stream of [false, true]) {
      it(`${useResponses ? 'Responses' : 'Chat Completions'} API${stream ? ', streamed' : ''}: same results as unwrapped; usage equals the emulator's`, async () => {
        const raw = new OpenAI({ apiKey: 'test', baseURL: emulator().openaiBaseURL });
        const limiter = createTokenLimiter({ defaultLimits: [{ id: 'm', tokens: 10_000_000, period: 'month' }] });
        const wrapped = withTokenLimits(raw, 'alice', { limiter });
        const input = 'What is the weather in Lisbon today?';

        const run = async (client: OpenAI, calls: string[]) => {
          const runner = runnerFor(client, useResponses);
          if (!stream) return runner.run(weatherAgent(calls), input);
          const result = await runner.run(weatherAgent(calls), input, { stream: true });
          for await (const _event of result) {
            // drain
          }
          await result.completed;
          return result;
        };
        const bareCalls: string[] = [];
        const bare = await run(raw, bareCalls);
        emulator().clearRequests();
        const calls: string[] = [];
        const result = await run(wrapped, calls);

        expect(result.finalOutput).toEqual(bare.finalOutput);
        expect(calls).toEqual(bareCalls);
        expect(calls.length).toBeGreaterThan(0);
        expect(result.newItems.map((i) => i.type)).toEqual(bare.newItems.map((i) => i.type));

        await limiter.flush();
        const records = await usageLog(limiter);
        const requests = emulator().requests.filter((r) => r.reply?.status === 200);
        expect(records).toHaveLength(requests.length);
        expect(records.every((r) => !r.estimated && r.userId === 'alice')).toBe(true);
        const totals = emulatorTotals(emulator().requests);
        expect(records.reduce((n, r) => n + r.inputTokens, 0)).toBe(totals.input);
        expect(records.reduce((n, r) => n + r.outputTokens, 0)).toBe(totals.output);
        expect(result.state.usage.inputTokens).toBe(totals.input);
        expect(result.state.usage.outputTokens).toBe(totals.output);
      });
    }
  }
});
