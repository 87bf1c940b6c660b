/**
 * Gemini Developer API endpoints as both Google SDKs call them (sdk-facts §4, §5):
 * `generateContent`, `streamGenerateContent` (`alt=sse` records, or a JSON array without it),
 * `countTokens` (both body shapes), `embedContent` and `batchEmbedContents`.
 */

import { contentText, countTokens, countTurnsInput, embeddingOf, maxTokensOf } from './content.js';
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
import { geminiRecord } from './sse.js';
import type { EmulatorBehavior, EmulatorUsage, GoogleEndpoint } from './types.js';

/** Answer one Gemini request. `sse` is whether the query had `alt=sse`. */
export function handleGemini(ctx: HandlerContext, sse: boolean): HandlerResult {
  const { body } = ctx;
  switch (ctx.endpoint as GoogleEndpoint) {
    case 'generateContent':
    case 'streamGenerateContent':
      require400(Array.isArray(body['contents']) && body['contents'].length > 0, '* GenerateContentRequest.contents: contents is not specified');
      return generate(ctx, ctx.endpoint === 'streamGenerateContent', sse);
    case 'countTokens': {
      const request = countTokensRequest(body);
      require400(request !== undefined, '* CountTokensRequest.contents: contents is not specified');
      const input = geminiInput(request);
      return {
        reply: { kind: 'json', status: 200, body: { totalTokens: input, promptTokensDetails: [{ modality: 'TEXT', tokenCount: input }] } },
        usage: inputOnlyUsage(input),
      };
    }
    case 'embedContent': {
      const content = asRecord(body['content']);
      require400(content !== undefined, '* EmbedContentRequest.content: content is not specified');
      return { reply: { kind: 'json', status: 200, body: { embedding: embed(content, body, ctx) } } };
    }
    case 'batchEmbedContents': {
      const requests = asArray(body['requests']).map(asRecord);
      require400(requests.length > 0 && requests.every((r) => asRecord(r?.['content']) !== undefined), '* BatchEmbedContentsRequest.requests: requests is not specified');
      return {
        reply: { kind: 'json', status: 200, body: { embeddings: requests.map((r) => embed(asRecord(r?.['content']) ?? {}, r ?? {}, ctx)) } },
      };
    }
    default:
      throw new Error(`unknown Gemini endpoint ${ctx.endpoint}`);
  }
}

/** The usage a Gemini request gets, without answering it (embeddings: the input count; the wire carries none). */
export function geminiUsage(endpoint: GoogleEndpoint, body: Record<string, unknown>, behavior: EmulatorBehavior): EmulatorUsage {
  switch (endpoint) {
    case 'generateContent':
    case 'streamGenerateContent':
      return generatePlan(body, behavior).usage;
    case 'countTokens':
      return inputOnlyUsage(geminiInput(countTokensRequest(body) ?? {}));
    case 'embedContent':
      return inputOnlyUsage(countTokens(contentText(asRecord(body['content']))));
    case 'batchEmbedContents':
      return inputOnlyUsage(asArray(body['requests']).reduce((sum: number, r) => sum + countTokens(contentText(asRecord(asRecord(r)?.['content']))), 0));
  }
}

/** `@google/generative-ai` wraps the request in `generateContentRequest`; `@google/genai` sends `{contents}`. */
function countTokensRequest(body: Record<string, unknown>): Record<string, unknown> | undefined {
  const wrapped = asRecord(body['generateContentRequest']);
  if (wrapped !== undefined) return wrapped;
  return Array.isArray(body['contents']) ? body : undefined;
}

function geminiInput(request: Record<string, unknown>): number {
  const turns: unknown[] = [];
  if (request['systemInstruction'] !== undefined && request['systemInstruction'] !== null) turns.push(request['systemInstruction']);
  turns.push(...asArray(request['contents']));
  const config = asRecord(request['generationConfig']);
  return countTurnsInput(turns, [request['tools'], config?.['responseJsonSchema'] ?? config?.['responseSchema']]);
}

function embed(content: Record<string, unknown>, request: Record<string, unknown>, ctx: HandlerContext): { values: number[] } {
  const dimensions = maxTokensOf(request['outputDimensionality']) ?? ctx.embeddingDimensions;
  return { values: embeddingOf(contentText(content), dimensions) };
}

function chosenTool(tools: unknown[], toolConfig: unknown): { name: string; schema: unknown } | undefined {
  const calling = asRecord(asRecord(toolConfig)?.['functionCallingConfig']);
  if (calling?.['mode'] === 'NONE') return undefined;
  const allowed = asArray(calling?.['allowedFunctionNames']);
  const declarations = tools
    .flatMap((t) => asArray(asRecord(t)?.['functionDeclarations']))
    .map(asRecord)
    .filter((d): d is Record<string, unknown> => typeof d?.['name'] === 'string');
  const tool = declarations.find((d) => allowed.includes(d['name'])) ?? declarations[0];
  return tool === undefined ? undefined : { name: tool['name'] as string, schema: tool['parametersJsonSchema'] ?? tool['parameters'] ?? {} };
}

function generatePlan(body: Record<string, unknown>, behavior: EmulatorBehavior): { outputs: PlannedOutput[]; usage: EmulatorUsage } {
  const contents = asArray(body['contents']);
  const last = asRecord(contents[contents.length - 1]);
  const functionResponse = asArray(last?.['parts'])
    .map((p) => asRecord(asRecord(p)?.['functionResponse']))
    .find((r) => r !== undefined);
  const lastUser = [...contents].reverse().map(asRecord).find((c) => c?.['role'] === 'user' || c?.['role'] === undefined);
  const config = asRecord(body['generationConfig']);
  const schema = config?.['responseJsonSchema'] ?? config?.['responseSchema'];
  const request: OutputRequest = {
    prompt: contentText(lastUser?.['parts']),
    toolResult: functionResponse === undefined ? undefined : JSON.stringify(functionResponse['response'] ?? {}),
    tool: chosenTool(asArray(body['tools']), body['toolConfig']),
    forceTool: asRecord(asRecord(body['toolConfig'])?.['functionCallingConfig'])?.['mode'] === 'ANY',
    jsonSchema: config?.['responseMimeType'] === 'application/json' && schema !== undefined ? schema : undefined,
    jsonObject: config?.['responseMimeType'] === 'application/json',
    maxTokens: maxTokensOf(config?.['maxOutputTokens']),
  };
  const count = typeof config?.['candidateCount'] === 'number' && config['candidateCount'] >= 1 ? Math.min(Math.floor(config['candidateCount']), 8) : 1;
  const outputs = Array.from({ length: count }, (_, i) => planOutput(request, i));
  const visible = outputs.reduce((sum, o) => sum + o.tokens.length, 0);
  return { outputs, usage: accountUsage(geminiInput(body), visible, behavior) };
}

/** `usageMetadata` with `candidates` visible output tokens so far. */
function usageMetadata(usage: EmulatorUsage, candidates: number, behavior: EmulatorBehavior): Record<string, unknown> {
  const metadata: Record<string, unknown> = {
    promptTokenCount: usage.inputTokens,
    candidatesTokenCount: candidates,
    totalTokenCount: usage.inputTokens + candidates + usage.reasoningTokens,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: usage.inputTokens }],
  };
  if (usage.cachedInputTokens > 0) metadata['cachedContentTokenCount'] = usage.cachedInputTokens;
  if (usage.reasoningTokens > 0) metadata['thoughtsTokenCount'] = usage.reasoningTokens;
  return mergeUsage(metadata, behavior.usage);
}

function finishReason(output: PlannedOutput): string {
  return output.truncated ? 'MAX_TOKENS' : 'STOP';
}

function generate(ctx: HandlerContext, streaming: boolean, sse: boolean): HandlerResult {
  const { body, behavior } = ctx;
  const { outputs, usage } = generatePlan(body, behavior);
  const reported = behavior.omitUsage === true ? undefined : usage;
  const responseId = ctx.ids.make('', 'responseId');
  const visibleTotal = usage.outputTokens - usage.reasoningTokens;
  const text = outputs[0]?.text ?? '';
  const usageInfo = reported ? { usage: reported } : {};
  const part = (output: PlannedOutput, piece: string): Record<string, unknown> =>
    output.kind === 'tool' ? { functionCall: { name: output.toolName, args: output.toolInput } } : { text: piece };
  const response = (candidates: unknown[], candidateTokens: number): Record<string, unknown> => {
    const value: Record<string, unknown> = { candidates };
    if (reported !== undefined) value['usageMetadata'] = usageMetadata(reported, candidateTokens, behavior);
    value['modelVersion'] = ctx.model;
    value['responseId'] = responseId;
    return value;
  };

  if (!streaming) {
    const candidates = outputs.map((output, index) => ({
      content: { parts: [part(output, output.text)], role: 'model' },
      finishReason: finishReason(output),
      index,
    }));
    return { reply: { kind: 'json', status: 200, body: response(candidates, visibleTotal) }, ...usageInfo, text };
  }

  // One chunk per token (a function call is one chunk); the last chunk of each candidate carries
  // finishReason; usageMetadata is a running total on every chunk.
  const chunks: Record<string, unknown>[] = [];
  let sent = 0;
  outputs.forEach((output, index) => {
    const pieces = output.kind === 'tool' ? [output.text] : output.tokens.length > 0 ? output.tokens : [''];
    pieces.forEach((piece, i) => {
      sent += output.kind === 'tool' ? output.tokens.length : piece === '' ? 0 : 1;
      const candidate: Record<string, unknown> = { content: { parts: [part(output, piece)], role: 'model' } };
      if (i === pieces.length - 1) candidate['finishReason'] = finishReason(output);
      candidate['index'] = index;
      chunks.push(response([candidate], sent));
    });
  });
  if (!sse) return { reply: { kind: 'json', status: 200, body: chunks }, ...usageInfo, text };
  return {
    reply: {
      kind: 'sse',
      records: chunks.map(geminiRecord),
      errorRecord: (message) => geminiRecord({ error: { code: 500, message, status: 'INTERNAL' } }),
    },
    ...usageInfo,
    text,
  };
}
