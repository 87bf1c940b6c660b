/**
 * Anthropic endpoints: Messages (JSON and SSE with mandatory `event:` lines, cumulative
 * `message_delta` usage) and token counting, in the wire formats of sdk-facts §3.5.
 */

import { contentText, countTurnsInput, maxTokensOf } from './content.js';
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
import { eventRecord } from './sse.js';
import type { AnthropicEndpoint, EmulatorBehavior, EmulatorUsage } from './types.js';

/** Answer one Anthropic request. */
export function handleAnthropic(ctx: HandlerContext): HandlerResult {
  const { body } = ctx;
  // Vertex AI and Bedrock name the model in the path, not in the body.
  require400(typeof body['model'] === 'string' || ctx.model !== '', 'model: Field required');
  require400(Array.isArray(body['messages']), 'messages: Field required');
  if (ctx.endpoint === 'messages.count_tokens') {
    const input = anthropicInput(body);
    return { reply: { kind: 'json', status: 200, body: { input_tokens: input } }, usage: inputOnlyUsage(input) };
  }
  require400(typeof body['max_tokens'] === 'number' && Number.isInteger(body['max_tokens']) && body['max_tokens'] >= 1, 'max_tokens: Field required');
  return messages(ctx);
}

/** The usage an Anthropic request gets, without answering it. */
export function anthropicUsage(endpoint: AnthropicEndpoint, body: Record<string, unknown>, behavior: EmulatorBehavior): EmulatorUsage {
  return endpoint === 'messages.count_tokens' ? inputOnlyUsage(anthropicInput(body)) : messagesPlan(body, behavior).usage;
}

function anthropicInput(body: Record<string, unknown>): number {
  const turns: unknown[] = [];
  if (body['system'] !== undefined && body['system'] !== null) turns.push(body['system']);
  turns.push(...asArray(body['messages']));
  return countTurnsInput(turns, [body['tools'], outputSchema(body)]);
}

function outputSchema(body: Record<string, unknown>): unknown {
  const format = asRecord(asRecord(body['output_config'])?.['format']) ?? asRecord(body['output_format']);
  return format?.['type'] === 'json_schema' ? (format['schema'] ?? {}) : undefined;
}

function chosenTool(tools: unknown[], toolChoice: unknown): { name: string; schema: unknown } | undefined {
  const choice = asRecord(toolChoice);
  if (choice?.['type'] === 'none') return undefined;
  // Client tools have an input_schema; server tools (web search, code execution…) do not.
  const clientTools = tools.map(asRecord).filter((t): t is Record<string, unknown> => typeof t?.['name'] === 'string' && t['input_schema'] !== undefined);
  const tool = clientTools.find((t) => t['name'] === choice?.['name']) ?? clientTools[0];
  return tool === undefined ? undefined : { name: tool['name'] as string, schema: tool['input_schema'] };
}

function messagesPlan(body: Record<string, unknown>, behavior: EmulatorBehavior): { output: PlannedOutput; usage: EmulatorUsage } {
  const turns = asArray(body['messages']);
  const last = asRecord(turns[turns.length - 1]);
  const lastContent = asArray(last?.['content']);
  const toolResult = last?.['role'] === 'user' ? lastContent.map(asRecord).find((b) => b?.['type'] === 'tool_result') : undefined;
  const lastUser = [...turns].reverse().map(asRecord).find((m) => m?.['role'] === 'user');
  const request: OutputRequest = {
    prompt: contentText(lastUser?.['content']),
    toolResult: toolResult === undefined ? undefined : contentText(toolResult['content']),
    tool: chosenTool(asArray(body['tools']), body['tool_choice']),
    forceTool: ['any', 'tool'].includes(asRecord(body['tool_choice'])?.['type'] as string),
    jsonSchema: outputSchema(body),
    maxTokens: maxTokensOf(body['max_tokens']),
  };
  const output = planOutput(request);
  return { output, usage: accountUsage(anthropicInput(body), output.tokens.length, behavior, true) };
}

/**
 * The wire usage; `speed` and `inference_geo` say how the request ran (as it asked: fast mode, US
 * inference), which Anthropic bills at higher rates.
 */
function wireUsage(usage: EmulatorUsage, body: Record<string, unknown>): Record<string, unknown> {
  const wire: Record<string, unknown> = {
    input_tokens: usage.inputTokens - usage.cachedInputTokens - usage.cacheCreationInputTokens,
    output_tokens: usage.outputTokens,
    cache_creation_input_tokens: usage.cacheCreationInputTokens,
    cache_read_input_tokens: usage.cachedInputTokens,
    cache_creation: { ephemeral_5m_input_tokens: usage.cacheCreationInputTokens, ephemeral_1h_input_tokens: 0 },
    service_tier: 'standard',
    inference_geo: typeof body['inference_geo'] === 'string' ? body['inference_geo'] : 'global',
    speed: body['speed'] === 'fast' ? 'fast' : 'standard',
  };
  if (usage.reasoningTokens > 0) wire['output_tokens_details'] = { thinking_tokens: usage.reasoningTokens };
  return wire;
}

function stopReason(output: PlannedOutput): string {
  if (output.truncated) return 'max_tokens';
  return output.kind === 'tool' ? 'tool_use' : 'end_turn';
}

function messages(ctx: HandlerContext): HandlerResult {
  const { body, behavior } = ctx;
  const { output, usage } = messagesPlan(body, behavior);
  const id = ctx.ids.make('msg_');
  const toolId = ctx.ids.make('toolu_');
  const reported = behavior.omitUsage === true ? undefined : usage;
  const usageInfo = reported ? { usage: reported } : {};
  const block =
    output.kind === 'tool'
      ? { type: 'tool_use', id: toolId, name: output.toolName, input: output.truncated ? {} : output.toolInput }
      : { type: 'text', text: output.text };

  if (!ctx.stream) {
    const message: Record<string, unknown> = {
      id,
      type: 'message',
      role: 'assistant',
      model: ctx.model,
      content: [block],
      stop_reason: stopReason(output),
      stop_sequence: null,
    };
    if (reported !== undefined) message['usage'] = mergeUsage(wireUsage(reported, body), behavior.usage);
    return { reply: { kind: 'json', status: 200, body: message }, ...usageInfo, text: output.text };
  }

  const event = (type: string, fields: Record<string, unknown> = {}): string => eventRecord(type, { type, ...fields });
  const startMessage: Record<string, unknown> = {
    id,
    type: 'message',
    role: 'assistant',
    model: ctx.model,
    content: [],
    stop_reason: null,
    stop_sequence: null,
  };
  if (reported !== undefined) {
    startMessage['usage'] = mergeUsage({ ...wireUsage(reported, body), output_tokens: Math.min(1, reported.outputTokens) }, behavior.usage);
  }
  const records = [event('message_start', { message: startMessage })];
  records.push(
    event('content_block_start', {
      index: 0,
      content_block: output.kind === 'tool' ? { type: 'tool_use', id: toolId, name: output.toolName, input: {} } : { type: 'text', text: '' },
    }),
  );
  records.push(event('ping'));
  for (const piece of output.tokens) {
    records.push(
      event('content_block_delta', {
        index: 0,
        delta: output.kind === 'tool' ? { type: 'input_json_delta', partial_json: piece } : { type: 'text_delta', text: piece },
      }),
    );
  }
  records.push(event('content_block_stop', { index: 0 }));
  const deltas = behavior.messageDeltas ?? 1;
  for (let i = 1; i <= deltas; i++) {
    const last = i === deltas;
    const fields: Record<string, unknown> = { delta: { stop_reason: last ? stopReason(output) : null, stop_sequence: null } };
    if (reported !== undefined) {
      const cumulative = last ? reported.outputTokens : Math.floor((reported.outputTokens * i) / deltas);
      const deltaUsage: Record<string, unknown> = { output_tokens: cumulative };
      if (last && reported.reasoningTokens > 0) deltaUsage['output_tokens_details'] = { thinking_tokens: reported.reasoningTokens };
      fields['usage'] = mergeUsage(deltaUsage, behavior.usage);
    }
    records.push(event('message_delta', fields));
  }
  records.push(event('message_stop'));
  return {
    reply: {
      kind: 'sse',
      records,
      errorRecord: (message) => eventRecord('error', { type: 'error', error: { type: 'overloaded_error', message } }),
    },
    ...usageInfo,
    text: output.text,
  };
}
