/**
 * What a provider module receives for one request and what it hands back to the server, plus the
 * usage arithmetic shared by all providers.
 */

import { replyText, toolResultReplyText, truncateToTokens, type IdFactory } from './content.js';
import { sampleFromSchema } from './schema.js';
import type { EmulatorBehavior, EmulatorUsage } from './types.js';

/** Everything a provider module needs to answer one request. */
export interface HandlerContext {
  /** The endpoint name (already routed). */
  endpoint: string;
  /** The parsed JSON body (an object). */
  body: Record<string, unknown>;
  /** The model, for Gemini from the path (without `models/`). */
  model: string;
  /** Whether a stream was asked for. */
  stream: boolean;
  /** Merged behavior of this request. */
  behavior: EmulatorBehavior;
  /** Deterministic ids for this request. */
  ids: IdFactory;
  /** Timestamp for the body, ms since the epoch. */
  nowMs: number;
  /** Default embedding length. */
  embeddingDimensions: number;
}

/** A complete JSON answer. */
export interface JsonReply {
  kind: 'json';
  status: number;
  body: unknown;
}

/** A server-sent-event answer: framed records, and how to frame an in-stream error. */
export interface SseReply {
  kind: 'sse';
  records: string[];
  /** The provider's in-stream error record; `index` is the number of records already sent. */
  errorRecord: (message: string, index: number) => string;
}

/** A provider module's answer, with what the emulator knows about it. */
export interface HandlerResult {
  reply: JsonReply | SseReply;
  /** The usage the answer reports (before overrides); `undefined` when it reports none. */
  usage?: EmulatorUsage;
  /** The generated text or tool arguments. */
  text?: string;
}

/** A 400 raised while reading a request; the server answers it in the provider's format. */
export class InvalidRequestError extends Error {
  override readonly name = 'InvalidRequestError';
}

/** Throw {@link InvalidRequestError} unless `condition`. */
export function require400(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvalidRequestError(message);
}

/**
 * The usage of an answer from the prompt size and the visible output, with the behavior's
 * reasoning/cache knobs applied (cached and cache-creation tokens are clamped to the prompt).
 */
export function accountUsage(inputTokens: number, visibleOutputTokens: number, behavior: EmulatorBehavior, cacheCreation = false): EmulatorUsage {
  const reasoningTokens = behavior.reasoningTokens ?? 0;
  const cachedInputTokens = Math.min(behavior.cachedInputTokens ?? 0, inputTokens);
  const cacheCreationInputTokens = cacheCreation ? Math.min(behavior.cacheCreationInputTokens ?? 0, inputTokens - cachedInputTokens) : 0;
  const outputTokens = visibleOutputTokens + reasoningTokens;
  return {
    inputTokens,
    outputTokens,
    cachedInputTokens,
    cacheCreationInputTokens,
    reasoningTokens,
    totalTokens: inputTokens + outputTokens,
  };
}

/** Usage of a count or embedding endpoint: input only. */
export function inputOnlyUsage(inputTokens: number): EmulatorUsage {
  return { inputTokens, outputTokens: 0, cachedInputTokens: 0, cacheCreationInputTokens: 0, reasoningTokens: 0, totalTokens: inputTokens };
}

/** A record as a plain object, or `undefined`. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** `value` if it is an array, else `[]`. */
export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** What a chat-like request asks the model to produce. */
export interface OutputRequest {
  /** Text of the last user turn. */
  prompt: string;
  /** Text of the tool result when the last turn is one: the answer is then plain text. */
  toolResult?: string | undefined;
  /** The tool to call when the request offers tools and the last turn is not a tool result. */
  tool?: { name: string; schema: unknown } | undefined;
  /**
   * The request forces a tool call (`tool_choice: 'required'` or a named tool, Anthropic `any` or
   * `tool`, Gemini mode `ANY`): the tool is called even after a tool result, as the APIs do.
   */
  forceTool?: boolean;
  /** A JSON schema the text must satisfy (structured outputs). */
  jsonSchema?: unknown;
  /** JSON mode without a schema. */
  jsonObject?: boolean;
  /** Output cap in tokens. */
  maxTokens?: number | undefined;
}

/** One generated output (a choice/candidate/message body). */
export interface PlannedOutput {
  kind: 'text' | 'tool';
  /** The text, or the tool-call arguments (JSON text). */
  text: string;
  /** The emulator tokens of `text` (one stream chunk each). */
  tokens: string[];
  /** Whether `maxTokens` cut it. */
  truncated: boolean;
  /** The tool name for a tool call. */
  toolName?: string;
  /** The arguments as a value (untruncated), for providers that send objects. */
  toolInput?: unknown;
}

/** Decide and generate the output of choice `choiceIndex` for `request`. */
export function planOutput(request: OutputRequest, choiceIndex = 0): PlannedOutput {
  if (request.tool !== undefined && (request.toolResult === undefined || request.forceTool === true)) {
    const input = sampleFromSchema(request.tool.schema);
    const cut = truncateToTokens(JSON.stringify(input), request.maxTokens);
    return { kind: 'tool', text: cut.text, tokens: cut.tokens, truncated: cut.truncated, toolName: request.tool.name, toolInput: input };
  }
  let text: string;
  if (request.toolResult !== undefined) text = toolResultReplyText(request.toolResult);
  else if (request.jsonSchema !== undefined) text = JSON.stringify(sampleFromSchema(request.jsonSchema));
  else if (request.jsonObject === true) text = JSON.stringify({ reply: replyText(request.prompt, choiceIndex) });
  else text = replyText(request.prompt, choiceIndex);
  const cut = truncateToTokens(text, request.maxTokens);
  return { kind: 'text', text: cut.text, tokens: cut.tokens, truncated: cut.truncated };
}
