/**
 * `@google/generative-ai` (0.24; deprecated by Google, still widely installed).
 *
 * Three objects can be wrapped, recognised by their shape (not `instanceof`, so that two copies
 * of the SDK both work): the `GoogleGenerativeAI` client (its `getGenerativeModel*` factories
 * return wrapped models), a `GenerativeModel`, and a `ChatSession`. `ChatSession` calls the SDK's
 * module functions directly, not the model's methods, so a chat is wrapped on its own
 * (`startChat()` of a wrapped model returns a wrapped chat).
 *
 * Counted: `generateContent`, `generateContentStream`, `sendMessage`, `sendMessageStream`,
 * `embedContent`, `batchEmbedContents`. Passed through: `countTokens`, `getHistory` and the rest.
 */
import { estimateGeminiEmbedding, estimateGenerativeAIRequest } from '../google/estimate.js';
import { admitAndSend, observeStream, trackEmbedding, trackGenerate, type Planner, type Send } from '../google/tracked.js';
import { setGenerativeAIMaximum } from '../output-maximum.js';
import { countTotal } from '../google/usage.js';
import type { Binding } from '../shared/binding.js';
import { planWith, refinePlan } from '../shared/plan.js';
import { routeProxy, type MethodFactory, type RouteTree } from '../shared/proxy.js';
import { asObject } from '../shared/usage.js';

type Request = unknown;
type RequestOptions = Record<string, unknown> | undefined;

interface StreamResult {
  stream: AsyncIterable<unknown>;
  response: Promise<unknown>;
}

/** A `GenerativeModel`: the parts the wrapper touches. */
interface GenerativeModelLike {
  model: string;
  generationConfig?: unknown;
  systemInstruction?: unknown;
  tools?: unknown;
  cachedContent?: unknown;
  generateContent(request: Request, options?: RequestOptions): Promise<{ response: unknown }>;
  generateContentStream(request: Request, options?: RequestOptions): Promise<StreamResult>;
  startChat(params?: unknown): ChatSessionLike;
  countTokens(request: Request, options?: RequestOptions): Promise<{ totalTokens?: unknown }>;
  embedContent(request: Request, options?: RequestOptions): Promise<unknown>;
  batchEmbedContents(request: Request, options?: RequestOptions): Promise<unknown>;
}

/** A `ChatSession`: the parts the wrapper touches. */
interface ChatSessionLike {
  model: string;
  params?: Record<string, unknown>;
  getHistory(): Promise<unknown[]>;
  sendMessage(request: Request, options?: RequestOptions): Promise<{ response: unknown }>;
  sendMessageStream(request: Request, options?: RequestOptions): Promise<StreamResult>;
}

const fn = (value: unknown): boolean => typeof value === 'function';

/** A `GoogleGenerativeAI` client (`getGenerativeModel`, no `models` resource as in `@google/genai`). */
function isClient(c: Record<string, unknown>): boolean {
  return fn(c.getGenerativeModel) && c.models === undefined;
}

function isModel(c: Record<string, unknown>): boolean {
  return typeof c.model === 'string' && fn(c.generateContent) && fn(c.generateContentStream) && fn(c.startChat) && fn(c.countTokens);
}

/** A `ChatSession` (`@google/genai`'s `Chat` has the same methods but keeps a `modelsModule`). */
function isChat(c: Record<string, unknown>): boolean {
  return typeof c.model === 'string' && fn(c.sendMessage) && fn(c.sendMessageStream) && fn(c.getHistory) && c.modelsModule === undefined;
}

export function isGenerativeAIObject(client: object): boolean {
  const c = client as Record<string, unknown>;
  return isClient(c) || isModel(c) || isChat(c);
}

/** Wraps a `GoogleGenerativeAI` client, a `GenerativeModel` or a `ChatSession`. */
export function wrapGenerativeAI<C extends object>(client: C, binding: Binding, rewrap: (client: object) => object): C {
  const c = client as Record<string, unknown>;
  if (isModel(c)) return routeProxy(client, modelRoutes(client as unknown as GenerativeModelLike, binding));
  if (isChat(c)) return routeProxy(client, chatRoutes(client as unknown as ChatSessionLike, binding, undefined));
  // The client: every model it makes is wrapped the same way (no quota bypass).
  const factory =
    (method: string): MethodFactory =>
    (owner) =>
    (...args: unknown[]) =>
      rewrap((owner as Record<string, (...a: unknown[]) => object>)[method]!.apply(owner, args));
  return routeProxy(client, {
    getGenerativeModel: factory('getGenerativeModel'),
    getGenerativeModelFromCachedContent: factory('getGenerativeModelFromCachedContent'),
  });
}

/** The request options of a count-tokens call: only the abort signal (the model's own options apply). */
function countOptions(signal: AbortSignal | undefined): RequestOptions {
  return signal === undefined ? {} : { signal };
}

/** `formatSystemInstruction` of the SDK: a string or a part becomes a `system` content. */
function systemContent(input: unknown): unknown {
  if (typeof input === 'string') return { role: 'system', parts: [{ text: input }] };
  const record = asObject(input);
  if (record && record.text !== undefined) return { role: 'system', parts: [input] };
  return input;
}

/**
 * What `countTokens` must be given to count what `generateContent(request)` sends: a string or
 * parts as they are (the model's defaults apply), a full request as `generateContentRequest`.
 */
function countRequestOf(request: Request): Request {
  const record = typeof request === 'string' || Array.isArray(request) ? undefined : asObject(request);
  if (record === undefined || record.contents === undefined) return request;
  const full = { ...record };
  if (full.systemInstruction !== undefined) full.systemInstruction = systemContent(full.systemInstruction);
  return { generateContentRequest: full };
}

/** `formatNewContent` of the SDK: a chat message as the content it appends to the history. */
function newContentOf(request: Request): Record<string, unknown> {
  const parts = (typeof request === 'string' ? [request] : Array.isArray(request) ? request : [request]).map((p) => (typeof p === 'string' ? { text: p } : p));
  const functionOnly = parts.length > 0 && parts.every((p) => asObject(p)?.functionResponse !== undefined);
  return { role: functionOnly ? 'function' : 'user', parts };
}

/** The model's defaults, as `estimateGenerativeAIRequest` takes them. */
function modelParamsOf(model: GenerativeModelLike): { model: string; generationConfig?: never; systemInstruction?: never; tools?: never; cachedContent?: never } {
  return {
    model: model.model,
    generationConfig: model.generationConfig as never,
    systemInstruction: model.systemInstruction as never,
    tools: model.tools as never,
    // A model from getGenerativeModelFromCachedContent sends its cache's name with every request.
    cachedContent: model.cachedContent as never,
  };
}

function bareModel(name: string): string {
  return name.replace(/^models\//, '');
}

function modelRoutes(model: GenerativeModelLike, binding: Binding): RouteTree {
  const generatePlan =
    (endpoint: string, request: Request): Planner =>
    async (settings) => {
      const local = planWith('google', endpoint, { model: bareModel(model.model), request }, settings, (o) =>
        estimateGenerativeAIRequest(request as never, modelParamsOf(model) as never, o),
      );
      return refinePlan(local, binding, async (signal) => countTotal(await model.countTokens(countRequestOf(request), countOptions(signal))));
    };
  const embedPlan =
    (endpoint: string, request: Request): Planner =>
    (settings) =>
      planWith('google', endpoint, { model: bareModel(model.model), request }, settings, (o) => estimateGeminiEmbedding(model.model, request, o), 0);
  // A shrunk reservation lowers the request's maximum (one candidate only: the maximum applies to each).
  const shrinkable = (request: Request) => {
    const own = typeof request === 'object' && request !== null && !Array.isArray(request) ? asObject((request as Record<string, unknown>).generationConfig) : undefined;
    return ((own ?? asObject(model.generationConfig))?.candidateCount ?? 1) === 1;
  };
  const sized = (request: Request, n: number | undefined): Request =>
    n === undefined ? request : (setGenerativeAIMaximum(request, n, asObject(model.generationConfig)).params as Request);
  return {
    generateContent: () => (request: Request, options?: RequestOptions) =>
      trackGenerate(binding, generatePlan('generateContent', request), (n) => model.generateContent(sized(request, n), options), (r) => r.response, shrinkable(request)),
    generateContentStream: () => (request: Request, options?: RequestOptions) =>
      trackStreamResult(binding, generatePlan('streamGenerateContent', request), (n) => model.generateContentStream(sized(request, n), options), shrinkable(request)),
    startChat: () => (params?: unknown) => {
      const chat = model.startChat(params);
      return routeProxy(chat, chatRoutes(chat, binding, model));
    },
    embedContent: () => (request: Request, options?: RequestOptions) =>
      trackEmbedding(binding, embedPlan('embedContent', request), () => model.embedContent(request, options)),
    batchEmbedContents: () => (request: Request, options?: RequestOptions) =>
      trackEmbedding(binding, embedPlan('batchEmbedContents', request), () => model.batchEmbedContents(request, options)),
  };
}

/** Fields of a chat's parameters that `sendMessage` sends with every request. */
const CHAT_REQUEST_FIELDS = ['generationConfig', 'safetySettings', 'tools', 'toolConfig', 'systemInstruction', 'cachedContent'];

/**
 * A chat's routes. The estimate counts the history the SDK will send; with `estimator: 'provider'`
 * the count needs a model, so it works for chats made by a wrapped model (a `ChatSession` wrapped
 * on its own is estimated locally).
 */
function chatRoutes(chat: ChatSessionLike, binding: Binding, model: GenerativeModelLike | undefined): RouteTree {
  const plan =
    (endpoint: string, request: Request): Planner =>
    async (settings) => {
      // getHistory() waits for the message in flight; if that one failed, the SDK has reset its chain.
      const history = await chat
        .getHistory()
        .catch(() => chat.getHistory())
        .catch(() => []);
      const full: Record<string, unknown> = { contents: [...history, newContentOf(request)] };
      for (const key of CHAT_REQUEST_FIELDS) if (chat.params?.[key] !== undefined) full[key] = chat.params[key];
      const local = planWith('google', endpoint, { model: bareModel(chat.model), request: full }, settings, (o) =>
        estimateGenerativeAIRequest(full as never, { model: chat.model }, o),
      );
      if (model === undefined) return local;
      return refinePlan(local, binding, async (signal) => countTotal(await model.countTokens(countRequestOf(full), countOptions(signal))));
    };
  return {
    sendMessage: () => (request: Request, options?: RequestOptions) =>
      trackGenerate(binding, plan('generateContent', request), () => chat.sendMessage(request, options), (r) => r.response),
    sendMessageStream: () => (request: Request, options?: RequestOptions) =>
      trackStreamResult(binding, plan('streamGenerateContent', request), () => chat.sendMessageStream(request, options)),
  };
}

/**
 * A `{ stream, response }` result: `stream` becomes an observed replay of the SDK's stream, and
 * `response` resolves (to the SDK's own aggregated response) once the call is settled. Both stay
 * usable in any order, and neither rejects unhandled when the caller ignores it.
 */
async function trackStreamResult(binding: Binding, plan: Planner, open: Send<StreamResult>, shrinkable = false): Promise<StreamResult> {
  const { call, result } = await admitAndSend(binding, plan, open, shrinkable);
  result.response.catch(() => {});
  const stream = observeStream(call, result.stream);
  const response = call.settled.then(() => result.response);
  response.catch(() => {});
  return { ...result, stream, response };
}
