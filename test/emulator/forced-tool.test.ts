import { describe, expect, it } from 'vitest';
import { useEmulator } from './harness.js';

const tool = { name: 'lookup', schema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] } };

async function post(url: string, headers: Record<string, string>, body: unknown): Promise<Record<string, any>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, any>;
}

describe('a request that forces a tool call gets one even after a tool result', () => {
  const emulator = useEmulator();
  const openai = { authorization: 'Bearer test' };

  it('OpenAI chat: required forces, auto answers the tool result', async () => {
    const messages = [
      { role: 'user', content: 'find it' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: 'found' },
    ];
    const tools = [{ type: 'function', function: { name: tool.name, parameters: tool.schema } }];
    const forced = await post(`${emulator().openaiBaseURL}/chat/completions`, openai, { model: 'gpt-4o-mini', messages, tools, tool_choice: 'required' });
    expect(forced.choices[0].finish_reason).toBe('tool_calls');
    const auto = await post(`${emulator().openaiBaseURL}/chat/completions`, openai, { model: 'gpt-4o-mini', messages, tools });
    expect(auto.choices[0].message.content).toBe('Emulated answer using the tool result: found.');
  });

  it('OpenAI responses, Anthropic and Gemini', async () => {
    const input = [
      { role: 'user', content: 'find it' },
      { type: 'function_call', call_id: 'c1', name: 'lookup', arguments: '{}' },
      { type: 'function_call_output', call_id: 'c1', output: 'found' },
    ];
    const r = await post(`${emulator().openaiBaseURL}/responses`, openai, { model: 'gpt-4o-mini', input, tools: [{ type: 'function', name: 'lookup', parameters: tool.schema }], tool_choice: 'required' });
    expect(r.output[0].type).toBe('function_call');

    const a = await post(`${emulator().url}/v1/messages`, { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' }, {
      model: 'claude-sonnet-4-5',
      max_tokens: 100,
      tools: [{ name: 'lookup', input_schema: tool.schema }],
      tool_choice: { type: 'any' },
      messages: [
        { role: 'user', content: 'find it' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'lookup', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'found' }] },
      ],
    });
    expect(a.stop_reason).toBe('tool_use');

    const g = await post(`${emulator().url}/v1beta/models/gemini-2.5-flash:generateContent`, { 'x-goog-api-key': 'k' }, {
      tools: [{ functionDeclarations: [{ name: 'lookup', parameters: tool.schema }] }],
      toolConfig: { functionCallingConfig: { mode: 'ANY' } },
      contents: [
        { role: 'user', parts: [{ text: 'find it' }] },
        { role: 'model', parts: [{ functionCall: { name: 'lookup', args: {} } }] },
        { role: 'user', parts: [{ functionResponse: { name: 'lookup', response: { r: 'found' } } }] },
      ],
    });
    expect(g.candidates[0].content.parts[0].functionCall.name).toBe('lookup');
  });
});
