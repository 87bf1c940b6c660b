/**
 * Routing (on the path only; `?beta=true`, `?alt=sse` and `?key=` are ignored here), credential
 * checks and the dispatch to the provider modules.
 */

import { handleAnthropic, anthropicUsage } from './anthropic.js';
import { geminiUsage, handleGemini } from './gemini.js';
import { asRecord, type HandlerContext, type HandlerResult } from './handler.js';
import { validateBehavior } from './knobs.js';
import { handleOpenAI, openaiUsage } from './openai.js';
import type { AnthropicEndpoint, EmulatorBehavior, EmulatorEndpoint, EmulatorProvider, EmulatorUsage, GoogleEndpoint, OpenAIEndpoint } from './types.js';

/** Where a request goes. */
export interface Route {
  provider: EmulatorProvider;
  endpoint: EmulatorEndpoint;
  /** The model named in the path (Gemini, Anthropic on Vertex AI or Bedrock), without `models/`. */
  pathModel?: string;
  /** Anthropic models served by a cloud platform: the version is in the body, the platform authenticates. */
  platform?: 'vertex' | 'bedrock';
  /** The path asks for a stream (Bedrock's `invoke-with-response-stream`; its body has no `stream`). */
  stream?: boolean;
}

const FIXED_ROUTES: Record<string, Route> = {
  '/v1/chat/completions': { provider: 'openai', endpoint: 'chat.completions' },
  '/v1/responses': { provider: 'openai', endpoint: 'responses' },
  '/v1/responses/input_tokens': { provider: 'openai', endpoint: 'responses.input_tokens' },
  '/v1/responses/compact': { provider: 'openai', endpoint: 'responses.compact' },
  '/v1/completions': { provider: 'openai', endpoint: 'completions' },
  '/v1/embeddings': { provider: 'openai', endpoint: 'embeddings' },
  '/v1/messages': { provider: 'anthropic', endpoint: 'messages' },
  '/v1/messages/count_tokens': { provider: 'anthropic', endpoint: 'messages.count_tokens' },
};

const GOOGLE_ENDPOINTS: ReadonlySet<string> = new Set<GoogleEndpoint>([
  'generateContent',
  'streamGenerateContent',
  'countTokens',
  'embedContent',
  'batchEmbedContents',
]);

/** Azure OpenAI: `<resource>/openai/deployments/<deployment>/<endpoint>?api-version=...`. */
const AZURE_PATH = /^\/openai\/deployments\/[^/]+(\/chat\/completions|\/completions|\/embeddings|\/responses)$/;

/** Vertex AI: Anthropic models (`rawPredict`, `streamRawPredict`) and Gemini models. */
const VERTEX_PATH = /^\/(?:v1|v1beta1)\/projects\/[^/]+\/locations\/[^/]+\/publishers\/(anthropic|google)\/models\/([^/:]+):([A-Za-z]+)$/;

/** Amazon Bedrock: Anthropic models (`invoke`, and `invoke-with-response-stream` in AWS event-stream framing). */
const BEDROCK_PATH = /^\/model\/([^/]+)\/(invoke|invoke-with-response-stream)$/;

const GOOGLE_PATH = /^\/(?:v1beta|v1|v1alpha)\/(?:models|tunedModels)\/([^/:]+):([A-Za-z]+)$/;

/** The route of `pathname` (trailing slashes ignored), or `undefined`. */
export function routeOf(pathname: string): Route | undefined {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  const fixed = FIXED_ROUTES[path];
  if (fixed !== undefined) return fixed;
  const azure = AZURE_PATH.exec(path);
  if (azure !== null) return FIXED_ROUTES[`/v1${azure[1] ?? ''}`];
  const vertex = VERTEX_PATH.exec(path);
  if (vertex !== null) {
    const [, publisher, model = '', method = ''] = vertex;
    const pathModel = decodeURIComponent(model);
    if (publisher === 'anthropic' && (method === 'rawPredict' || method === 'streamRawPredict')) return { provider: 'anthropic', endpoint: 'messages', pathModel, platform: 'vertex' };
    if (publisher === 'google' && GOOGLE_ENDPOINTS.has(method)) return { provider: 'google', endpoint: method as GoogleEndpoint, pathModel };
    return undefined;
  }
  const bedrock = BEDROCK_PATH.exec(path);
  if (bedrock !== null) {
    const route: Route = { provider: 'anthropic', endpoint: 'messages', pathModel: decodeURIComponent(bedrock[1] ?? ''), platform: 'bedrock' };
    return bedrock[2] === 'invoke' ? route : { ...route, stream: true };
  }
  const google = GOOGLE_PATH.exec(path);
  if (google !== null && GOOGLE_ENDPOINTS.has(google[2] ?? '')) {
    return { provider: 'google', endpoint: google[2] as GoogleEndpoint, pathModel: decodeURIComponent(google[1] ?? '') };
  }
  return undefined;
}

/** The provider a path most likely belongs to, for the format of a 404. */
export function providerOfPath(pathname: string): EmulatorProvider | 'unknown' {
  if (/^\/v1(beta|alpha)?\/(models|tunedModels)\//.test(pathname) || pathname.startsWith('/v1beta')) return 'google';
  if (pathname.startsWith('/v1/messages') || pathname === '/v1/complete') return 'anthropic';
  if (pathname.startsWith('/v1/')) return 'openai';
  return 'unknown';
}

/** A credential problem: the status and message to answer with. */
export interface AuthProblem {
  status: number;
  message: string;
}

/** Check the credentials a provider requires (any non-empty key is accepted). */
export function checkAuth(provider: EmulatorProvider, headers: Record<string, string>, query: Record<string, string>, platform?: Route['platform']): AuthProblem | undefined {
  if (platform === 'bedrock') return undefined; // SigV4 is not checked (clients made with skipAuth send none)
  if (platform === 'vertex' && /^Bearer\s+\S+/i.test(headers['authorization'] ?? '')) return undefined;
  const bearer = /^Bearer\s+\S+/i.test(headers['authorization'] ?? '');
  switch (provider) {
    case 'openai':
      return bearer || (headers['api-key'] ?? '').trim() // Azure OpenAI sends its key as `api-key`
        ? undefined
        : {
            status: 401,
            message:
              "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
          };
    case 'anthropic':
      if (!bearer && !(headers['x-api-key'] ?? '').trim()) return { status: 401, message: 'x-api-key header is required' };
      if (!(headers['anthropic-version'] ?? '').trim()) return { status: 400, message: 'anthropic-version: header is required' };
      return undefined;
    case 'google':
      return bearer || (headers['x-goog-api-key'] ?? '').trim() || (query['key'] ?? '').trim()
        ? undefined
        : {
            status: 403,
            message:
              "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
          };
  }
}

/** Dispatch to the provider module. */
export function dispatch(route: Route, ctx: HandlerContext, query: Record<string, string>): HandlerResult {
  switch (route.provider) {
    case 'openai':
      return handleOpenAI(ctx);
    case 'anthropic':
      return handleAnthropic(ctx);
    case 'google':
      return handleGemini(ctx, query['alt'] === 'sse');
  }
}

/** A request as `expectedUsage()` needs it; a `RecordedRequest` fits. */
export interface UsageQuery {
  provider: EmulatorProvider | 'unknown';
  endpoint: EmulatorEndpoint | 'unknown';
  body: unknown;
}

/**
 * The usage the emulator reports for a request, computed without sending it: the same numbers as
 * `RecordedRequest.reply.usage` (before `usage` overrides). For count endpoints `inputTokens` is the
 * count; for embeddings it is the input size (Gemini embedding answers carry no usage on the wire).
 * @param behavior the knobs that change usage (`reasoningTokens`, `cachedInputTokens`,
 *   `cacheCreationInputTokens`); others are ignored
 * @throws TypeError for an unknown provider/endpoint, a body that is not an object or a malformed
 *   behavior (RangeError for a value out of range)
 */
export function expectedUsage(request: UsageQuery, behavior: EmulatorBehavior = {}): EmulatorUsage {
  if (typeof request !== 'object' || request === null) throw new TypeError('expectedUsage: the request must be an object of provider, endpoint and body');
  // Checked like enqueue()'s: a misspelt knob ({ reasoningToken: 20 }) gave the usage without it.
  validateBehavior(behavior, 'expectedUsage: behavior');
  const body = asRecord(request.body);
  if (body === undefined) throw new TypeError('expectedUsage: the request body must be a JSON object');
  switch (request.provider) {
    case 'openai':
      if (Object.values(FIXED_ROUTES).some((r) => r.provider === 'openai' && r.endpoint === request.endpoint)) {
        return openaiUsage(request.endpoint as OpenAIEndpoint, body, behavior);
      }
      break;
    case 'anthropic':
      if (request.endpoint === 'messages' || request.endpoint === 'messages.count_tokens') {
        return anthropicUsage(request.endpoint as AnthropicEndpoint, body, behavior);
      }
      break;
    case 'google':
      if (GOOGLE_ENDPOINTS.has(request.endpoint)) return geminiUsage(request.endpoint as GoogleEndpoint, body, behavior);
      break;
    default:
      break;
  }
  throw new TypeError(`expectedUsage: unknown endpoint ${request.provider}/${request.endpoint}`);
}
