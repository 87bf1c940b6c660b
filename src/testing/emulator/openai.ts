/**
 * OpenAI endpoints: Chat Completions, Responses (+ input token count), legacy Completions and
 * Embeddings, in the wire formats of sdk-facts §2.7. Over 300 lines: four endpoints whose stream
 * and body formats share their helpers, kept together like the API they emulate.
 */

import {
  contentText,
  countTokens,
  countTurnsInput,
  completionText,
  embeddingOf,
  float32Base64,
  maxTokensOf,
  truncateToTokens,
} from './content.js';
import {
  accountUsage,
  asArray,
  asRecord,
  inputOnlyUsage,
  planOutput,
  require400,
  type HandlerContext,
  type HandlerResult,
  type OutputRequest,
  type PlannedOutput,
} from './handler.js';
import { mergeUsage } from './json.js';
import { DONE_RECORD, dataRecord, eventRecord } from './sse.js';
import type { EmulatorBehavior, EmulatorUsage, OpenAIEndpoint } from './types.js';

const SYSTEM_FINGERPRINT = 'fp_emulator';

/** Answer one OpenAI request. */
export function handleOpenAI(ctx: HandlerContext): HandlerResult {
  switch (ctx.endpoint as OpenAIEndpoint) {
    case 'chat.completions':
      return chatCompletions(ctx);
    case 'responses':
      return responses(ctx);
    case 'responses.input_tokens': {
      const input = responsesInput(ctx.body);
      return {
        reply: { kind: 'json', status: 200, body: { object: 'response.input_tokens', input_tokens: input } },
        usage: inputOnlyUsage(input),
      };
    }
    case 'responses.compact':
      return responsesCompact(ctx);
    case 'completions':
      return completions(ctx);
    case 'embeddings':
      return embeddings(ctx);
    default:
      throw new Error(`unknown OpenAI endpoint ${ctx.endpoint}`);
  }
}

/** The usage an OpenAI request gets, without answering it. */
export function openaiUsage(endpoint: OpenAIEndpoint, body: Record<string, unknown>, behavior: EmulatorBehavior): EmulatorUsage {
  switch (endpoint) {
    case 'chat.completions':
      return chatPlan(body, behavior).usage;
    case 'responses':
      return responsesPlan(body, behavior).usage;
    case 'responses.input_tokens':
      return inputOnlyUsage(responsesInput(body));
    case 'responses.compact':
      return compactUsage(body, behavior);
    case 'completions':
      return completionsPlan(body, behavior).usage;
    case 'embeddings':
      return inputOnlyUsage(embeddingTexts(body).reduce((sum, t) => sum + t.tokens, 0));
  }
}

function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}

function withOverride(usage: Record<string, unknown>, behavior: EmulatorBehavior): Record<string, unknown> {
  return mergeUsage(usage, behavior.usage);
}

/* ---------------------------------------------------------------- chat completions */

interface ChatPlan {
  outputs: PlannedOutput[];
  usage: EmulatorUsage;
}

function chatPlan(body: Record<string, unknown>, behavior: EmulatorBehavior): ChatPlan {
  const messages = asArray(body['messages']);
  const responseFormat = asRecord(body['response_format']);
  const jsonSchema = asRecord(responseFormat?.['json_schema']);
  const tools = asArray(body['tools']);
  const input = countTurnsInput(messages, [body['tools'], responseFormat]);

  const last = asRecord(messages[messages.length - 1]);
  const lastUser = [...messages].reverse().map(asRecord).find((m) => m?.['role'] === 'user');
  const request: OutputRequest = {
    prompt: contentText(lastUser?.['content']),
    toolResult: last?.['role'] === 'tool' || last?.['role'] === 'function' ? contentText(last['content']) : undefined,
    tool: chosenChatTool(tools, body['tool_choice']),
    forceTool: forcesTool(body['tool_choice']),
    jsonSchema: responseFormat?.['type'] === 'json_schema' ? (jsonSchema?.['schema'] ?? {}) : undefined,
    jsonObject: responseFormat?.['type'] === 'json_object',
    maxTokens: maxTokensOf(body['max_completion_tokens'], body['max_tokens']),
  };
  const n = choiceCount(body['n']);
  const outputs = Array.from({ length: n }, (_, i) => planOutput(request, i));
  const visible = outputs.reduce((sum, o) => sum + o.tokens.length, 0);
  return { outputs, usage: accountUsage(input, visible, behavior) };
}

function choiceCount(value: unknown): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 ? Math.min(value, 128) : 1;
}

/** `tool_choice: 'required'` or a named function (Chat Completions and Responses shapes). */
function forcesTool(toolChoice: unknown): boolean {
  return toolChoice === 'required' || asRecord(toolChoice)?.['type'] === 'function';
}

function chosenChatTool(tools: unknown[], toolChoice: unknown): { name: string; schema: unknown } | undefined {
  if (toolChoice === 'none') return undefined;
  const functions = tools
    .map(asRecord)
    .filter((t) => t?.['type'] === 'function')
    .map((t) => asRecord(t?.['function']))
    .filter((f): f is Record<string, unknown> => typeof f?.['name'] === 'string');
  const wanted = asRecord(asRecord(toolChoice)?.['function'])?.['name'];
  const tool = functions.find((f) => f['name'] === wanted) ?? functions[0];
  return tool === undefined ? undefined : { name: tool['name'] as string, schema: tool['parameters'] ?? {} };
}

function chatUsage(usage: EmulatorUsage, behavior: EmulatorBehavior): Record<string, unknown> {
  return withOverride(
    {
      prompt_tokens: usage.inputTokens,
      completion_tokens: usage.outputTokens,
      total_tokens: usage.totalTokens,
      prompt_tokens_details: { cached_tokens: usage.cachedInputTokens, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: usage.reasoningTokens,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    },
    behavior,
  );
}

function chatFinishReason(output: PlannedOutput): string {
  if (output.truncated) return 'length';
  return output.kind === 'tool' ? 'tool_calls' : 'stop';
}

function chatCompletions(ctx: HandlerContext): HandlerResult {
  const { body, behavior } = ctx;
  require400(typeof body['model'] === 'string', "you must provide a model parameter");
  require400(Array.isArray(body['messages']), "Missing required parameter: 'messages'.");
  const plan = chatPlan(body, behavior);
  const id = ctx.ids.make('chatcmpl-');
  const created = seconds(ctx.nowMs);
  const model = ctx.model;
  const text = plan.outputs[0]?.text ?? '';
  const reportedUsage = behavior.omitUsage === true ? undefined : plan.usage;
  const callId = (i: number): string => ctx.ids.make('call_', `tool${i}`);

  if (!ctx.stream) {
    const completion: Record<string, unknown> = {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: plan.outputs.map((output, index) => ({
        index,
        message:
          output.kind === 'tool'
            ? {
                role: 'assistant',
                content: null,
                refusal: null,
                annotations: [],
                tool_calls: [{ id: callId(index), type: 'function', function: { name: output.toolName, arguments: output.text } }],
              }
            : { role: 'assistant', content: output.text, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: chatFinishReason(output),
      })),
    };
    if (reportedUsage !== undefined) completion['usage'] = chatUsage(reportedUsage, behavior);
    completion['service_tier'] = servedTier(body);
    completion['system_fingerprint'] = SYSTEM_FINGERPRINT;
    return { reply: { kind: 'json', status: 200, body: completion }, ...(reportedUsage ? { usage: reportedUsage } : {}), text };
  }

  const includeUsage = asRecord(body['stream_options'])?.['include_usage'] === true;
  // As OpenAI: a last member that pads every chunk, unless stream_options.include_obfuscation is false.
  const obfuscate = asRecord(body['stream_options'])?.['include_obfuscation'] !== false;
  let chunks = 0;
  const chunk = (choices: unknown[], usage?: unknown): string => {
    const payload: Record<string, unknown> = {
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      service_tier: servedTier(body),
      system_fingerprint: SYSTEM_FINGERPRINT,
      choices,
    };
    if (includeUsage) payload['usage'] = usage ?? null;
    if (obfuscate) payload['obfuscation'] = OBFUSCATION.slice(0, 2 + ((chunks += 1) * 7) % 12);
    return dataRecord(payload);
  };
  const choice = (index: number, delta: Record<string, unknown>, finish: string | null): Record<string, unknown> => ({
    index,
    delta,
    logprobs: null,
    finish_reason: finish,
  });

  const records: string[] = [];
  plan.outputs.forEach((output, index) => {
    records.push(chunk([choice(index, { role: 'assistant', content: output.kind === 'tool' ? null : '', refusal: null }, null)]));
    if (output.kind === 'tool') {
      records.push(
        chunk([
          choice(index, { tool_calls: [{ index: 0, id: callId(index), type: 'function', function: { name: output.toolName, arguments: '' } }] }, null),
        ]),
      );
      for (const piece of output.tokens) records.push(chunk([choice(index, { tool_calls: [{ index: 0, function: { arguments: piece } }] }, null)]));
    } else {
      for (const piece of output.tokens) records.push(chunk([choice(index, { content: piece }, null)]));
    }
    records.push(chunk([choice(index, {}, chatFinishReason(output))]));
  });
  const streamedUsage = includeUsage ? reportedUsage : undefined;
  if (streamedUsage !== undefined) records.push(chunk([], chatUsage(streamedUsage, behavior)));
  records.push(DONE_RECORD);
  return {
    reply: { kind: 'sse', records, errorRecord: (message) => dataRecord({ error: { message, type: 'server_error', param: null, code: null } }) },
    ...(streamedUsage ? { usage: streamedUsage } : {}),
    text,
  };
}

/** The characters of a chunk's `obfuscation` padding (OpenAI's are random; these are deterministic). */
const OBFUSCATION = 'aZ3kQ9xLm2Pw7Rt';

/* ---------------------------------------------------------------- responses */

function responsesTurns(body: Record<string, unknown>): unknown[] {
  const turns: unknown[] = [];
  if (body['instructions'] !== undefined && body['instructions'] !== null) turns.push(body['instructions']);
  const input = body['input'];
  if (typeof input === 'string') turns.push(input);
  else turns.push(...asArray(input));
  return turns;
}

/** The tier a response says served it: the one asked for when it is `priority` or `flex`, else `default`. */
function servedTier(body: Record<string, unknown>): string {
  const asked = body['service_tier'];
  return asked === 'priority' || asked === 'flex' ? asked : 'default';
}

function responsesInput(body: Record<string, unknown>): number {
  return countTurnsInput(responsesTurns(body), [body['tools'], asRecord(body['text'])?.['format']]);
}

interface ResponsesPlan {
  output: PlannedOutput;
  usage: EmulatorUsage;
}

function responsesPlan(body: Record<string, unknown>, behavior: EmulatorBehavior): ResponsesPlan {
  const input = body['input'];
  const items = typeof input === 'string' ? [{ role: 'user', content: input }] : asArray(input);
  const last = asRecord(items[items.length - 1]);
  const lastUser = [...items].reverse().map(asRecord).find((m) => m?.['role'] === 'user' && m['type'] !== 'function_call_output');
  const format = asRecord(asRecord(body['text'])?.['format']);
  const request: OutputRequest = {
    prompt: contentText(lastUser?.['content']),
    toolResult: last?.['type'] === 'function_call_output' ? contentText(last['output']) : undefined,
    tool: chosenResponsesTool(asArray(body['tools']), body['tool_choice']),
    forceTool: forcesTool(body['tool_choice']),
    jsonSchema: format?.['type'] === 'json_schema' ? (format['schema'] ?? {}) : undefined,
    jsonObject: format?.['type'] === 'json_object',
    maxTokens: maxTokensOf(body['max_output_tokens']),
  };
  const output = planOutput(request);
  return { output, usage: accountUsage(responsesInput(body), output.tokens.length, behavior) };
}

function chosenResponsesTool(tools: unknown[], toolChoice: unknown): { name: string; schema: unknown } | undefined {
  if (toolChoice === 'none') return undefined;
  const functions = tools.map(asRecord).filter((t): t is Record<string, unknown> => t?.['type'] === 'function' && typeof t['name'] === 'string');
  const wanted = asRecord(toolChoice)?.['name'];
  const tool = functions.find((f) => f['name'] === wanted) ?? functions[0];
  return tool === undefined ? undefined : { name: tool['name'] as string, schema: tool['parameters'] ?? {} };
}

function responsesUsage(usage: EmulatorUsage, behavior: EmulatorBehavior): Record<string, unknown> {
  return withOverride(
    {
      input_tokens: usage.inputTokens,
      input_tokens_details: { cached_tokens: usage.cachedInputTokens },
      output_tokens: usage.outputTokens,
      output_tokens_details: { reasoning_tokens: usage.reasoningTokens },
      total_tokens: usage.totalTokens,
    },
    behavior,
  );
}

function responses(ctx: HandlerContext): HandlerResult {
  const { body, behavior } = ctx;
  require400(typeof body['model'] === 'string', "Missing required parameter: 'model'.");
  const plan = responsesPlan(body, behavior);
  const { output } = plan;
  const id = ctx.ids.make('resp_');
  const itemId = output.kind === 'tool' ? ctx.ids.make('fc_') : ctx.ids.make('msg_');
  const callId = ctx.ids.make('call_');
  const reportedUsage = behavior.omitUsage === true ? undefined : plan.usage;
  const status = output.truncated ? 'incomplete' : 'completed';

  const textPart = (text: string): Record<string, unknown> => ({ type: 'output_text', text, annotations: [], logprobs: [] });
  const item = (done: boolean): Record<string, unknown> =>
    output.kind === 'tool'
      ? {
          type: 'function_call',
          id: itemId,
          call_id: callId,
          name: output.toolName,
          arguments: done ? output.text : '',
          status: done ? 'completed' : 'in_progress',
        }
      : {
          type: 'message',
          id: itemId,
          status: done ? status : 'in_progress',
          role: 'assistant',
          content: done ? [textPart(output.text)] : [],
        };
  // background: true without a stream answers at once with the response queued (no output, no
  // usage), as the API does; it is billed when it has run, which it is not here.
  const queued = body['background'] === true && !ctx.stream;
  const response = (final: boolean): Record<string, unknown> => {
    const value: Record<string, unknown> = {
      id,
      object: 'response',
      created_at: seconds(ctx.nowMs),
      status: queued ? 'queued' : final ? status : 'in_progress',
      background: body['background'] === true,
      service_tier: servedTier(body),
      error: null,
      incomplete_details: final && output.truncated ? { reason: 'max_output_tokens' } : null,
      instructions: body['instructions'] ?? null,
      max_output_tokens: body['max_output_tokens'] ?? null,
      model: ctx.model,
      output: final ? [item(true)] : [],
      parallel_tool_calls: body['parallel_tool_calls'] ?? true,
      previous_response_id: body['previous_response_id'] ?? null,
      reasoning: { effort: null, summary: null },
      store: body['store'] ?? true,
      temperature: body['temperature'] ?? 1,
      text: body['text'] ?? { format: { type: 'text' } },
      tool_choice: body['tool_choice'] ?? 'auto',
      tools: body['tools'] ?? [],
      top_p: body['top_p'] ?? 1,
      truncation: 'disabled',
      user: null,
      metadata: body['metadata'] ?? {},
    };
    if (!final) value['usage'] = null;
    else if (reportedUsage !== undefined) value['usage'] = responsesUsage(reportedUsage, behavior);
    return value;
  };
  const usageInfo = reportedUsage ? { usage: reportedUsage } : {};

  if (queued) return { reply: { kind: 'json', status: 200, body: { ...response(false), output: [] } }, usage: plan.usage, text: output.text };
  if (!ctx.stream) return { reply: { kind: 'json', status: 200, body: response(true) }, ...usageInfo, text: output.text };

  let sequence = 0;
  const event = (type: string, fields: Record<string, unknown>): string => eventRecord(type, { type, sequence_number: sequence++, ...fields });
  const records: string[] = [event('response.created', { response: response(false) }), event('response.in_progress', { response: response(false) })];
  records.push(event('response.output_item.added', { output_index: 0, item: item(false) }));
  if (output.kind === 'tool') {
    for (const delta of output.tokens) {
      records.push(event('response.function_call_arguments.delta', { item_id: itemId, output_index: 0, delta }));
    }
    records.push(event('response.function_call_arguments.done', { item_id: itemId, output_index: 0, name: output.toolName, arguments: output.text }));
  } else {
    const where = { item_id: itemId, output_index: 0, content_index: 0 };
    records.push(event('response.content_part.added', { ...where, part: textPart('') }));
    for (const delta of output.tokens) records.push(event('response.output_text.delta', { ...where, delta, logprobs: [] }));
    records.push(event('response.output_text.done', { ...where, text: output.text, logprobs: [] }));
    records.push(event('response.content_part.done', { ...where, part: textPart(output.text) }));
  }
  records.push(event('response.output_item.done', { output_index: 0, item: item(true) }));
  records.push(event(output.truncated ? 'response.incomplete' : 'response.completed', { response: response(true) }));
  return {
    reply: {
      kind: 'sse',
      records,
      errorRecord: (message, index) => eventRecord('error', { type: 'error', code: 'server_error', message, param: null, sequence_number: index }),
    },
    ...usageInfo,
    text: output.text,
  };
}

/* ---------------------------------------------------------------- responses.compact */

/**
 * A compaction pass (`POST /v1/responses/compact`) reads the whole input and writes one compaction
 * item: billed as input, and as output a quarter of it (at least 1 token).
 */
function compactUsage(body: Record<string, unknown>, behavior: EmulatorBehavior): EmulatorUsage {
  const input = responsesInput(body);
  return accountUsage(input, Math.max(1, Math.ceil(input / 4)), behavior);
}

function responsesCompact(ctx: HandlerContext): HandlerResult {
  const { body, behavior } = ctx;
  require400(typeof body['model'] === 'string', "Missing required parameter: 'model'.");
  const usage = compactUsage(body, behavior);
  const input = body['input'];
  const items = typeof input === 'string' ? [{ role: 'user', content: input }] : asArray(input);
  const userMessages = items
    .map(asRecord)
    .filter((m): m is Record<string, unknown> => m?.['role'] === 'user')
    .map((m) => ({ type: 'message', id: ctx.ids.make('msg_'), status: 'completed', role: 'user', content: [{ type: 'input_text', text: contentText(m['content']) }] }));
  const compaction = { type: 'compaction', id: ctx.ids.make('cmp_'), encrypted_content: Buffer.from(`compacted:${usage.inputTokens}`).toString('base64') };
  return {
    reply: {
      kind: 'json',
      status: 200,
      body: {
        id: ctx.ids.make('resp_'),
        object: 'response.compaction',
        created_at: seconds(ctx.nowMs),
        output: [...userMessages, compaction],
        usage: behavior.omitUsage === true ? undefined : responsesUsage(usage, behavior),
      },
    },
    usage,
  };
}

/* ---------------------------------------------------------------- legacy completions */

function promptTexts(prompt: unknown): Array<{ text: string; tokens: number }> {
  if (typeof prompt === 'string') return [{ text: prompt, tokens: countTokens(prompt) }];
  if (Array.isArray(prompt)) {
    if (prompt.every((p) => typeof p === 'number')) return [{ text: prompt.join(' '), tokens: prompt.length }];
    return prompt.flatMap((p) => promptTexts(p));
  }
  return [{ text: '', tokens: 0 }];
}

interface CompletionChoice {
  promptIndex: number;
  text: string;
  tokens: string[];
  truncated: boolean;
}

function completionsPlan(body: Record<string, unknown>, behavior: EmulatorBehavior): { choices: CompletionChoice[]; usage: EmulatorUsage } {
  const prompts = promptTexts(body['prompt'] ?? '');
  const n = choiceCount(body['n']);
  // The API's own default for max_tokens is 16.
  const maxTokens = maxTokensOf(body['max_tokens']) ?? (body['max_tokens'] === null ? undefined : 16);
  const choices: CompletionChoice[] = [];
  prompts.forEach((prompt, promptIndex) => {
    for (let i = 0; i < n; i++) {
      const cut = truncateToTokens(completionText(prompt.text, i), maxTokens);
      choices.push({ promptIndex, text: cut.text, tokens: cut.tokens, truncated: cut.truncated });
    }
  });
  const input = prompts.reduce((sum, p) => sum + p.tokens, 0);
  return { choices, usage: accountUsage(input, choices.reduce((sum, c) => sum + c.tokens.length, 0), behavior) };
}

function completionUsage(usage: EmulatorUsage, behavior: EmulatorBehavior): Record<string, unknown> {
  return withOverride(
    {
      prompt_tokens: usage.inputTokens,
      completion_tokens: usage.outputTokens,
      total_tokens: usage.totalTokens,
      ...(usage.cachedInputTokens > 0 ? { prompt_tokens_details: { cached_tokens: usage.cachedInputTokens } } : {}),
      ...(usage.reasoningTokens > 0 ? { completion_tokens_details: { reasoning_tokens: usage.reasoningTokens } } : {}),
    },
    behavior,
  );
}

function completions(ctx: HandlerContext): HandlerResult {
  const { body, behavior } = ctx;
  require400(typeof body['model'] === 'string', "Missing required parameter: 'model'.");
  const plan = completionsPlan(body, behavior);
  const id = ctx.ids.make('cmpl-');
  const created = seconds(ctx.nowMs);
  const reportedUsage = behavior.omitUsage === true ? undefined : plan.usage;
  const text = plan.choices[0]?.text ?? '';
  const finish = (c: CompletionChoice): string => (c.truncated ? 'length' : 'stop');

  if (!ctx.stream) {
    const completion: Record<string, unknown> = {
      id,
      object: 'text_completion',
      created,
      model: ctx.model,
      choices: plan.choices.map((c, index) => ({ text: c.text, index, logprobs: null, finish_reason: finish(c) })),
      system_fingerprint: SYSTEM_FINGERPRINT,
    };
    if (reportedUsage !== undefined) completion['usage'] = completionUsage(reportedUsage, behavior);
    return { reply: { kind: 'json', status: 200, body: completion }, ...(reportedUsage ? { usage: reportedUsage } : {}), text };
  }

  const includeUsage = asRecord(body['stream_options'])?.['include_usage'] === true;
  const chunk = (choices: unknown[], usage?: unknown): string => {
    const payload: Record<string, unknown> = { id, object: 'text_completion', created, model: ctx.model, system_fingerprint: SYSTEM_FINGERPRINT, choices };
    if (includeUsage) payload['usage'] = usage ?? null;
    return dataRecord(payload);
  };
  const records: string[] = [];
  plan.choices.forEach((c, index) => {
    for (const piece of c.tokens) records.push(chunk([{ text: piece, index, logprobs: null, finish_reason: null }]));
    records.push(chunk([{ text: '', index, logprobs: null, finish_reason: finish(c) }]));
  });
  const streamedUsage = includeUsage ? reportedUsage : undefined;
  if (streamedUsage !== undefined) records.push(chunk([], completionUsage(streamedUsage, behavior)));
  records.push(DONE_RECORD);
  return {
    reply: { kind: 'sse', records, errorRecord: (message) => dataRecord({ error: { message, type: 'server_error', param: null, code: null } }) },
    ...(streamedUsage ? { usage: streamedUsage } : {}),
    text,
  };
}

/* ---------------------------------------------------------------- embeddings */

function embeddingTexts(body: Record<string, unknown>): Array<{ text: string; tokens: number }> {
  const input = body['input'];
  if (typeof input === 'string') return [{ text: input, tokens: countTokens(input) }];
  if (!Array.isArray(input)) return [];
  if (input.length > 0 && input.every((i) => typeof i === 'number')) return [{ text: input.join(' '), tokens: input.length }];
  return input.map((item) =>
    Array.isArray(item) ? { text: item.join(' '), tokens: item.length } : { text: String(item), tokens: countTokens(String(item)) },
  );
}

function embeddings(ctx: HandlerContext): HandlerResult {
  const { body, behavior } = ctx;
  require400(typeof body['model'] === 'string', "Missing required parameter: 'model'.");
  require400(body['input'] !== undefined && body['input'] !== null, "Missing required parameter: 'input'.");
  const texts = embeddingTexts(body);
  const dimensions = maxTokensOf(body['dimensions']) ?? ctx.embeddingDimensions;
  const base64 = body['encoding_format'] === 'base64';
  const input = texts.reduce((sum, t) => sum + t.tokens, 0);
  const usage = inputOnlyUsage(input);
  const response: Record<string, unknown> = {
    object: 'list',
    data: texts.map((t, index) => {
      const vector = embeddingOf(t.text, dimensions);
      return { object: 'embedding', index, embedding: base64 ? float32Base64(vector) : vector };
    }),
    model: ctx.model,
  };
  if (behavior.omitUsage !== true) response['usage'] = withOverride({ prompt_tokens: input, total_tokens: input }, behavior);
  return { reply: { kind: 'json', status: 200, body: response }, ...(behavior.omitUsage === true ? {} : { usage }) };
}
