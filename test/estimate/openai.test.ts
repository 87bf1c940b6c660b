import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/kernel/errors.js';
import {
  estimateOpenAIChatCompletion,
  estimateOpenAICompletion,
  estimateOpenAIEmbedding,
  estimateOpenAIRequest,
  estimateOpenAIResponse,
} from '../../src/providers/openai/estimate.js';
import { openAIImageTokens } from '../../src/providers/openai/images.js';
import { gptTokenizer } from '../../src/tokenizer/gpt-tokenizer.js';
import { jsTiktokenTokenizer } from '../../src/tokenizer/js-tiktoken.js';

type Messages = ChatCompletionCreateParams['messages'];

// OpenAI cookbook "How to count tokens with tiktoken": the 6-message example.
const cookbookMessages: Messages = [
  { role: 'system', content: 'You are a helpful, pattern-following assistant that translates corporate jargon into plain English.' },
  { role: 'system', name: 'example_user', content: 'New synergies will help drive top-line growth.' },
  { role: 'system', name: 'example_assistant', content: 'Things working well together will increase revenue.' },
  { role: 'system', name: 'example_user', content: "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage." },
  { role: 'system', name: 'example_assistant', content: "Let's talk later when we're less busy about how to do better." },
  { role: 'user', content: "This late pivot means we don't have time to boil the ocean for the client deliverable." },
];

// The cookbook's tool example.
const weatherTool: NonNullable<ChatCompletionCreateParams['tools']> = [
  {
    type: 'function',
    function: {
      name: 'get_current_weather',
      description: 'Get the current weather in a given location',
      parameters: {
        type: 'object',
        properties: {
          location: { type: 'string', description: 'The city and state, e.g. San Francisco, CA' },
          unit: { type: 'string', description: 'The unit of temperature to return', enum: ['celsius', 'fahrenheit'] },
        },
        required: ['location'],
      },
    },
  },
];
const weatherMessages: Messages = [
  { role: 'system', content: 'You are a helpful assistant that can answer to questions about the weather.' },
  { role: 'user', content: "What's the weather like in San Francisco?" },
];

const tokenizers = [gptTokenizer(), jsTiktokenTokenizer()];
// The cookbook checks disable the time budget: js-tiktoken's first encodes after loading can take
// longer than 5 ms on this shared machine, and the budget would then estimate part of the request.

beforeAll(async () => {
  await Promise.all(tokenizers.map((t) => t.warmup(['o200k_base', 'cl100k_base'])));
}, 60_000);

describe.each(tokenizers.map((t) => [t.name, t] as const))('cookbook counts with %s', (_name, tokenizer) => {
  it.each([
    ['gpt-3.5-turbo', 129],
    ['gpt-4-0613', 129],
    ['gpt-4', 129],
    ['gpt-4o', 124],
    ['gpt-4o-mini', 124],
  ])('6-message example on %s = %i', async (model, expected) => {
    const estimate = await estimateOpenAIChatCompletion({ model, messages: cookbookMessages }, { tokenizer, timeBudgetMs: Infinity });
    expect(estimate.inputTokens).toBe(expected);
    expect(estimate.exact).toBe(true);
    expect(estimate.method).toBe('tokenizer');
  });

  it.each([
    ['gpt-3.5-turbo', 105],
    ['gpt-4', 105],
    ['gpt-4o', 101],
    ['gpt-4o-mini', 101],
  ])('tool example on %s = %i', async (model, expected) => {
    const estimate = await estimateOpenAIChatCompletion({ model, messages: weatherMessages, tools: weatherTool }, { tokenizer, timeBudgetMs: Infinity });
    expect(estimate.inputTokens).toBe(expected);
  });

  it('counts the same tool through the legacy functions parameter', async () => {
    const estimate = await estimateOpenAIChatCompletion(
      { model: 'gpt-4o', messages: weatherMessages, functions: [weatherTool[0]!.type === 'function' ? weatherTool[0]!.function : { name: 'x' }] },
      { tokenizer, timeBudgetMs: Infinity },
    );
    expect(estimate.inputTokens).toBe(101);
  });
});

describe('output reservation', () => {
  const messages: Messages = [{ role: 'user', content: 'hi' }];
  it('uses max_completion_tokens, then max_tokens, times n', async () => {
    expect((await estimateOpenAIChatCompletion({ model: 'gpt-4o', messages, max_completion_tokens: 100, max_tokens: 7, n: 3 })).outputTokens).toBe(300);
    expect((await estimateOpenAIChatCompletion({ model: 'gpt-4o', messages, max_tokens: 7 })).outputTokens).toBe(7);
  });
  it('falls back to an explicit outputReservation, then to the model\'s documented maximum output', async () => {
    expect((await estimateOpenAIChatCompletion({ model: 'gpt-4o', messages }, { outputReservation: 500 })).outputTokens).toBe(500);
    expect((await estimateOpenAIChatCompletion({ model: 'gpt-4o', messages, n: 2 })).outputTokens).toBe(2 * 16_384);
  });
  it('holds a reasoning model without a maximum for its documented maximum output, not 4096', async () => {
    const o3 = await estimateOpenAIResponse({ model: 'o3-2025-04-16', input: 'prove it' });
    expect(o3.outputTokens).toBe(100_000);
    expect(o3.outputFromRequest).toBe(false);
    expect((await estimateOpenAIChatCompletion({ model: 'gpt-5-mini', messages })).outputTokens).toBe(128_000);
    expect((await estimateOpenAIChatCompletion({ model: 'some-future-model', messages })).outputTokens).toBe(128_000);
  });
  it('maxOutputTokens overrides the table by prefix, and an explicit outputReservation wins over both', async () => {
    const overrides = { 'gpt-4o': 2000 };
    expect((await estimateOpenAIChatCompletion({ model: 'gpt-4o-2024-08-06', messages }, { maxOutputTokens: overrides })).outputTokens).toBe(2000);
    // gpt-4o-mini has its own, more specific entry.
    expect((await estimateOpenAIChatCompletion({ model: 'gpt-4o-mini', messages }, { maxOutputTokens: overrides })).outputTokens).toBe(16_384);
    expect((await estimateOpenAIChatCompletion({ model: 'gpt-4o', messages }, { maxOutputTokens: overrides, outputReservation: 7 })).outputTokens).toBe(7);
    expect((await estimateOpenAIChatCompletion({ model: 'gpt-4o', messages, max_tokens: 3 }, { maxOutputTokens: overrides })).outputFromRequest).toBe(true);
  });
  it('responses: max_output_tokens else the model\'s hold', async () => {
    const e = await estimateOpenAIResponse({ model: 'gpt-5', input: 'hello', max_output_tokens: 64 });
    expect(e.outputTokens).toBe(64);
    expect(e.totalTokens).toBe(e.inputTokens + 64);
    expect((await estimateOpenAIResponse({ model: 'gpt-5', input: 'hello' }, { outputReservation: 9 })).outputTokens).toBe(9);
  });
  it('completions: max_tokens (default 16) x max(n, best_of) x prompts', async () => {
    expect((await estimateOpenAICompletion({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say hi' })).outputTokens).toBe(16);
    expect((await estimateOpenAICompletion({ model: 'gpt-3.5-turbo-instruct', prompt: 'x', max_tokens: 10, n: 2, best_of: 5 })).outputTokens).toBe(50);
    expect((await estimateOpenAICompletion({ model: 'gpt-3.5-turbo-instruct', prompt: ['a', 'b', 'c'], max_tokens: 10 })).outputTokens).toBe(30);
  });
  it('embeddings reserve no output', async () => {
    const e = await estimateOpenAIEmbedding({ model: 'text-embedding-3-small', input: ['tiktoken is great!', 'hello'] });
    expect(e.outputTokens).toBe(0);
    expect(e.encoding).toBe('cl100k_base');
    expect(e.inputTokens).toBe(6 + 1);
  });
});

describe('request shapes', () => {
  it('embeddings and completions accept token arrays', async () => {
    expect((await estimateOpenAIEmbedding({ model: 'text-embedding-3-small', input: [1, 2, 3] })).inputTokens).toBe(3);
    expect((await estimateOpenAIEmbedding({ model: 'text-embedding-3-small', input: [[1, 2], [3]] })).inputTokens).toBe(3);
    expect((await estimateOpenAICompletion({ model: 'davinci-002', prompt: [[1, 2, 3, 4]], max_tokens: 1 })).inputTokens).toBe(4);
  });

  it('counts text parts like string content, and images by the vision formula', async () => {
    const plain = await estimateOpenAIChatCompletion({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Describe this.' }] });
    const parts = await estimateOpenAIChatCompletion({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Describe this.' }, { type: 'image_url', image_url: { url: 'https://x/y.png', detail: 'low' } }] }],
    });
    expect(parts.inputTokens).toBe(plain.inputTokens + 85);
    const high = await estimateOpenAIChatCompletion({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }],
    });
    expect(high.inputTokens).toBeGreaterThanOrEqual(85 + 8 * 170);
  });

  it('reads the size of PNG data URLs (1024x1024 high detail on gpt-4o = 765)', async () => {
    const png = Buffer.alloc(33);
    png.writeUInt32BE(0x89504e47, 0);
    png.writeUInt32BE(0x0d0a1a0a, 4);
    png.writeUInt32BE(13, 8);
    png.write('IHDR', 12, 'latin1');
    png.writeUInt32BE(1024, 16);
    png.writeUInt32BE(1024, 20);
    const url = `data:image/png;base64,${png.toString('base64')}`;
    const base = (await estimateOpenAIChatCompletion({ model: 'gpt-4o', messages: [{ role: 'user', content: [] }] })).inputTokens;
    const withImage = (await estimateOpenAIChatCompletion({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url, detail: 'high' } }] }],
    })).inputTokens;
    expect(withImage - base).toBe(765);
    expect(openAIImageTokens('gpt-4o', 'high', 2048, 4096)).toBe(1105);
    expect(openAIImageTokens('gpt-4.1-mini', 'high', 1024, 1024)).toBe(Math.ceil(1024 * 1.62));
  });

  it('prices the images of gpt-5 point-release mini and nano models by patches, as gpt-5-mini and nano', () => {
    // A 1920x1080 screenshot: 1,536 patches (scaled down to fit) at 1.62 and 2.46 tokens each, not
    // gpt-5's tiles (910 tokens); an image of unknown size is held at the full patch budget.
    for (const [model, multiplier] of [['gpt-5.4-mini', 1.62], ['gpt-5.1-mini-2025-11-13', 1.62], ['gpt-5.4-nano', 2.46]] as const) {
      expect(openAIImageTokens(model, 'high', 1920, 1080), model).toBe(openAIImageTokens(multiplier === 1.62 ? 'gpt-5-mini' : 'gpt-5-nano', 'high', 1920, 1080));
      expect(openAIImageTokens(model, 'high', 1920, 1080), model).toBeGreaterThan(1400 * multiplier);
      expect(openAIImageTokens(model, 'auto'), model).toBe(Math.ceil(1536 * multiplier));
    }
    expect(openAIImageTokens('gpt-5.4', 'high', 1920, 1080)).toBe(openAIImageTokens('gpt-5', 'high', 1920, 1080));
  });

  it('counts tool calls and tool results', async () => {
    const base = (await estimateOpenAIChatCompletion({ model: 'gpt-4o', messages: [{ role: 'assistant', content: null }] })).inputTokens;
    const withCall = (await estimateOpenAIChatCompletion({
      model: 'gpt-4o',
      messages: [
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'Sunny, 24 C' },
      ],
    })).inputTokens;
    expect(withCall).toBeGreaterThan(base + 3 + 8);
  });

  it('responses: instructions, string and item inputs, function tools', async () => {
    const simple = await estimateOpenAIResponse({ model: 'gpt-4.1', input: 'tiktoken is great!' });
    // 3 (message) + 1 ("user") + 6 + 3 (priming)
    expect(simple.inputTokens).toBe(13);
    expect(simple.exact).toBe(true);
    const items = await estimateOpenAIResponse({
      model: 'gpt-4.1',
      instructions: 'Be brief.',
      input: [
        { role: 'user', content: [{ type: 'input_text', text: 'tiktoken is great!' }] },
        { type: 'function_call', call_id: 'c1', name: 'lookup', arguments: '{}' },
        { type: 'function_call_output', call_id: 'c1', output: 'done' },
      ],
      tools: [{ type: 'function', name: 'lookup', description: 'Look up.', parameters: { type: 'object', properties: {} }, strict: true }],
    });
    expect(items.inputTokens).toBeGreaterThan(simple.inputTokens + 20);
    expect((await estimateOpenAIResponse({ model: 'gpt-4.1', input: 'x', previous_response_id: 'resp_1' })).exact).toBe(false);
  });

  it('holds stored conversation state at the model\'s context window', async () => {
    for (const extra of [{ previous_response_id: 'resp_1' }, { conversation: 'conv_1' }, { prompt: { id: 'pmpt_1' } }]) {
      const e = await estimateOpenAIResponse({ model: 'gpt-4.1', input: 'x', ...extra } as never);
      expect(e.inputTokens, JSON.stringify(extra)).toBe(1_047_576);
      expect(e.exact).toBe(false);
    }
    const referenced = await estimateOpenAIResponse({ model: 'o3', input: [{ type: 'item_reference', id: 'msg_1' }] });
    expect(referenced.inputTokens).toBe(200_000);
  });

  it('holds an Azure On Your Data request (data_sources) at the context window: what it retrieves is billed as prompt', async () => {
    const e = await estimateOpenAIChatCompletion({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'What does our leave policy say?' }],
      data_sources: [{ type: 'azure_search', parameters: { endpoint: 'https://search.example.net', index_name: 'policies', authentication: { type: 'api_key', key: 'k' } } }],
    } as never);
    expect(e.inputTokens).toBe(128_000);
    expect(e.exact).toBe(false);
  });

  it('holds input given only by id at the context window: an earlier audio answer, a stored reasoning item', async () => {
    // An assistant turn `audio: { id }` is the model's earlier spoken answer, billed again as input audio.
    const audio = await estimateOpenAIChatCompletion({
      model: 'gpt-4o-audio-preview',
      messages: [{ role: 'user', content: 'Tell me a story.' }, { role: 'assistant', audio: { id: 'audio_1' } }, { role: 'user', content: 'Another one.' }],
    });
    expect(audio.inputTokens).toBe(128_000);
    expect(audio.exact).toBe(false);
    // A reasoning item without encrypted_content is the stored one (store: true), read back by id.
    const stored = await estimateOpenAIResponse({ model: 'o3', input: [{ type: 'reasoning', id: 'rs_1', summary: [] }, { role: 'user', content: 'Go on.' }] });
    expect(stored.inputTokens).toBe(200_000);
    // Its reasoning text, when given, is counted like its summary.
    const bare = await estimateOpenAIResponse({ model: 'o3', input: [{ type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: 'AAAA' }] });
    const withText = await estimateOpenAIResponse({
      model: 'o3',
      input: [{ type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: 'AAAA', content: [{ type: 'reasoning_text', text: 'First, compare the two totals line by line.' }] }],
    });
    expect(withText.inputTokens).toBeGreaterThan(bare.inputTokens + 5);
  });

  it('counts a computer-use screenshot (computer_call_output) as an image, by id or URL at the largest size', async () => {
    const shot = (output: Record<string, unknown>) =>
      estimateOpenAIResponse({ model: 'computer-use-preview', input: [{ type: 'computer_call_output', call_id: 'call_1', output: { type: 'computer_screenshot', ...output } }] } as never);
    const empty = await estimateOpenAIResponse({ model: 'computer-use-preview', input: [] });
    const largest = openAIImageTokens('computer-use-preview', 'high');
    for (const output of [{ file_id: 'file_1' }, { image_url: 'https://example.com/screen.png' }]) {
      expect((await shot(output)).inputTokens - empty.inputTokens, JSON.stringify(output)).toBeGreaterThanOrEqual(largest);
    }
  });

  it('holds file parts by their size: text files by their bytes, PDFs and files by id at the context window', async () => {
    const text = 'name,amount\n' + 'alice,12\n'.repeat(2000);
    const data = `data:text/csv;base64,${Buffer.from(text).toString('base64')}`;
    const base = (await estimateOpenAIResponse({ model: 'gpt-4o', input: [{ role: 'user', content: [] }] })).inputTokens;
    const csv = await estimateOpenAIResponse({ model: 'gpt-4o', input: [{ role: 'user', content: [{ type: 'input_file', file_data: data, filename: 'a.csv' }] }] });
    expect(csv.inputTokens - base).toBeGreaterThanOrEqual(Buffer.byteLength(text));
    expect(csv.inputTokens - base).toBeLessThan(Buffer.byteLength(text) + 20);
    const pdf = await estimateOpenAIChatCompletion({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: [{ type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0xLjQK', filename: 'a.pdf' } }] }],
    });
    expect(pdf.inputTokens).toBe(128_000);
    const byId = await estimateOpenAIChatCompletion({ model: 'gpt-4o', messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file_1' } }] }] });
    expect(byId.inputTokens).toBe(128_000);
    expect(byId.exact).toBe(false);
  });

  it('dispatches by endpoint', async () => {
    expect((await estimateOpenAIRequest('embeddings', { model: 'text-embedding-3-large', input: 'tiktoken is great!' })).inputTokens).toBe(6);
  });
});

describe('invalid requests', () => {
  it.each([
    [null, 'params'],
    [{ messages: [] }, 'params.model'],
    [{ model: 'gpt-4o' }, 'params.messages'],
    [{ model: 'gpt-4o', messages: [], max_tokens: -1 }, 'params.max_tokens'],
    [{ model: 'gpt-4o', messages: [], max_completion_tokens: 1.5 }, 'params.max_completion_tokens'],
    [{ model: 'gpt-4o', messages: [], n: 0 }, 'params.n'],
    [{ model: 'gpt-4o', messages: [42] }, 'params.messages[0]'],
  ])('%j -> InvalidArgumentError(%s)', async (params, parameter) => {
    const call = estimateOpenAIChatCompletion(params as never);
    await expect(call).rejects.toThrow(InvalidArgumentError);
    await expect(call).rejects.toThrow(expect.objectContaining({ parameter }));
  });
  it('rejects a bad outputReservation and bad embeddings input', async () => {
    await expect(estimateOpenAIChatCompletion({ model: 'gpt-4o', messages: [] }, { outputReservation: -5 })).rejects.toThrow(InvalidArgumentError);
    await expect(estimateOpenAIEmbedding({ model: 'text-embedding-3-small', input: [{}] as never })).rejects.toThrow(InvalidArgumentError);
    await expect(estimateOpenAIChatCompletion({ model: 'gpt-4o', messages: [] }, { maxOutputTokens: { 'gpt-4o': -1 } })).rejects.toThrow(
      expect.objectContaining({ parameter: 'maxOutputTokens["gpt-4o"]' }),
    );
  });
});

describe('hosted tools', () => {
  it('holds a call with a hosted tool at the context window: what the tool fetches is billed as input', async () => {
    const plain = await estimateOpenAIResponse({ model: 'gpt-4.1', input: 'news?', tools: [{ type: 'function', name: 'f', parameters: {}, strict: false }] });
    expect(plain.inputTokens).toBeLessThan(100);
    const search = await estimateOpenAIResponse({ model: 'gpt-4.1', input: 'news?', tools: [{ type: 'web_search_preview' }] });
    expect(search.inputTokens).toBe(1_047_576);
    const chat = await estimateOpenAIChatCompletion({ model: 'gpt-4o-search-preview', messages: [{ role: 'user', content: 'news?' }], web_search_options: {} });
    expect(chat.inputTokens).toBe(128_000);
  });
});
