/**
 * `@google/genai` (2.x): the `GoogleGenAI` client, recognised by its shape.
 *
 * Counted: `models.generateContent`, `models.generateContentStream`, `models.embedContent`, and
 * `chats.create()`'s `sendMessage` / `sendMessageStream`. Passed through: `models.countTokens` and
 * everything else.
 *
 * One SDK call may make several billed HTTP requests: automatic function calling (AFC, callable
 * tools) loops over requests, and automatic continuation issues further "hops". The SDK reports
 * usage summed over continuation hops but only the last request's usage after an AFC loop, so
 * counting what the final response says would undercount. Instead, each call runs on a private
 * per-call copy of the client's `Models` (same API client) whose two request primitives,
 * `generateContentInternal` and `generateContentStreamInternal`, are tracked: every HTTP request
 * the call makes (each AFC step, each continuation hop) is reserved before it is sent and committed
 * with its own `usageMetadata`, so the records of a call add up to what the provider billed. If a
 * future SDK lacks those primitives, the public methods are tracked instead (one record per call,
 * with the usage the SDK reports).
 *
 * `Chat` objects call the `Models` instance captured by `chats.create()`, so a chat made by the
 * wrapped client is pointed at the wrapped `models`; its history is the SDK's own.
 */
import { currentUserId } from '../shared/context.js';
import { estimateGeminiEmbedding, estimateGeminiSystemAndTools, estimateGenAIRequest } from '../google/estimate.js';
import { admitAndSend, observeStream, trackEmbedding, trackGenerate, type Planner } from '../google/tracked.js';
import { setGenAIMaximum } from '../output-maximum.js';
import { countTotal } from '../google/usage.js';
import type { Binding } from '../shared/binding.js';
import { planWith, refinePlan } from '../shared/plan.js';
import { routeProxy } from '../shared/proxy.js';
import { markNeverSent } from '../shared/settle.js';
import { asObject } from '../shared/usage.js';

/** `{ model, contents, config }` of `generateContent(Stream)`. */
interface GenerateParams {
  model: string;
  contents: unknown;
  config?: Record<string, unknown>;
}

/** The `Models` module: the parts the wrapper touches. */
interface ModelsLike {
  generateContent(params: GenerateParams): Promise<unknown>;
  generateContentStream(params: GenerateParams): Promise<AsyncGenerator<unknown>>;
  embedContent(params: GenerateParams): Promise<unknown>;
  countTokens(params: GenerateParams): Promise<{ totalTokens?: unknown }>;
  apiClient?: unknown;
}

/** The request primitives a call's private `Models` tracks (present in 1.x and 2.x). */
interface ModelsInternals {
  generateContentInternal(params: GenerateParams): Promise<unknown>;
  generateContentStreamInternal(params: GenerateParams): Promise<AsyncIterable<unknown>>;
}

/** `sendMessage(Stream)` parameters of a `Chat`. */
interface SendMessageParams {
  message: unknown;
  config?: Record<string, unknown>;
}

/** A `Chat`: the parts the wrapper touches. */
interface ChatLike {
  model: string;
  config?: Record<string, unknown>;
  modelsModule?: unknown;
  getHistory?(curated?: boolean): unknown[];
  sendMessage(params: SendMessageParams): Promise<unknown>;
  sendMessageStream(params: SendMessageParams): Promise<AsyncIterable<unknown>>;
}

interface GoogleGenAILike {
  models: ModelsLike;
  chats: { create(params: unknown): object };
  vertexai?: boolean;
}

export function isGenAIClient(client: object): boolean {
  const c = client as Partial<GoogleGenAILike>;
  return typeof c.models?.generateContent === 'function' && typeof c.models.generateContentStream === 'function' && typeof c.chats?.create === 'function';
}

/**
 * The input count of `countTokens`. On the Gemini Developer API it counts `contents` only (the SDK
 * refuses a system instruction or tools there), so their local estimate is added; on Vertex AI
 * they are counted too.
 */
async function providerCount(client: GoogleGenAILike, params: GenerateParams, signal: AbortSignal | undefined): Promise<number> {
  const config = params.config ?? {};
  const vertex = client.vertexai === true;
  const countConfig: Record<string, unknown> = signal === undefined ? {} : { abortSignal: signal };
  if (vertex) for (const key of ['systemInstruction', 'tools']) if (config[key] !== undefined) countConfig[key] = config[key];
  const total = countTotal(await client.models.countTokens({ model: params.model, contents: params.contents, config: countConfig }));
  const uncounted = vertex || (config.systemInstruction === undefined && config.tools === undefined) ? 0 : estimateGeminiSystemAndTools(config.systemInstruction, config.tools);
  return total + uncounted;
}

/** Wraps a `GoogleGenAI` client. */
export function wrapGenAI<C extends object>(client: C, binding: Binding): C {
  const ai = client as unknown as GoogleGenAILike;
  const generatePlan =
    (b: Binding, endpoint: string, params: GenerateParams): Planner =>
    async (settings) => {
      const local = planWith('google', endpoint, params as unknown as Record<string, unknown>, settings, (o) => estimateGenAIRequest(params as never, o));
      return refinePlan(local, b, (signal) => providerCount(ai, params, signal));
    };
  // A request the models send can be lowered to a shrunk reservation (one candidate only: the
  // maximum applies to each); a chat's cannot (its config is the chat's), so a chat refuses instead.
  const shrinkable = (params: GenerateParams, viaModels: boolean) => viaModels && (asObject(params.config)?.candidateCount ?? 1) === 1;
  const sized = (params: GenerateParams, n: number | undefined): GenerateParams => (n === undefined ? params : setGenAIMaximum(params, n).params);
  const trackGenerateWith = (b: Binding, params: GenerateParams, send: (p: GenerateParams) => Promise<unknown>, viaModels = true): Promise<unknown> =>
    trackGenerate(b, generatePlan(b, 'generateContent', params), (n) => send(sized(params, n)), (response) => response, shrinkable(params, viaModels), params.config?.abortSignal);
  const trackStreamWith = async (
    b: Binding,
    params: GenerateParams,
    open: (p: GenerateParams) => Promise<AsyncIterable<unknown>>,
    viaModels = true,
  ): Promise<AsyncGenerator<unknown>> => {
    const { call, result } = await admitAndSend(
      b,
      generatePlan(b, 'streamGenerateContent', params),
      (n) => open(sized(params, n)),
      shrinkable(params, viaModels),
      params.config?.abortSignal,
    );
    return observeStream(call, result);
  };

  /** The models of one call: a private `Models` tracking each request, else the public methods tracked. */
  const callModels = (): Pick<ModelsLike, 'generateContent' | 'generateContentStream'> => {
    const b = callBinding(binding);
    const shadow = trackedModels(ai.models, (params, send) => trackGenerateWith(b, params, send), (params, open) => trackStreamWith(b, params, open));
    if (shadow) return shadow;
    return {
      generateContent: (params) => trackGenerateWith(b, params, (p) => ai.models.generateContent(p)),
      generateContentStream: (params) => trackStreamWith(b, params, (p) => ai.models.generateContentStream(p)),
    };
  };

  const wrapped: C = routeProxy(client, {
    models: {
      generateContent: () => (params: GenerateParams) => callModels().generateContent(params),
      generateContentStream: () => (params: GenerateParams) => callModels().generateContentStream(params),
      embedContent: (owner) => (params: GenerateParams) =>
        trackEmbedding(
          binding,
          (settings) =>
            planWith('google', 'embedContent', params as unknown as Record<string, unknown>, settings, (o) => estimateGeminiEmbedding(params.model, params.contents, o), 0),
          () => (owner as ModelsLike).embedContent(params),
        ),
    },
    chats: {
      create: (owner) => (params: unknown) => {
        const chat = (owner as GoogleGenAILike['chats']).create(params) as ChatLike;
        // The new chat is the caller's alone: point it at the wrapped models.
        if (chat.modelsModule === ai.models) {
          chat.modelsModule = (wrapped as unknown as GoogleGenAILike).models;
          return chat;
        }
        // A chat that does not go through its client's models: track its own methods.
        const paramsOf = (send: SendMessageParams): GenerateParams => {
          const message = Array.isArray(send.message) ? send.message : [send.message];
          const config = send.config ?? chat.config;
          const history = typeof chat.getHistory === 'function' ? chat.getHistory(true) : [];
          const contents = [...history, { role: 'user', parts: message.map((p) => (typeof p === 'string' ? { text: p } : p)) }];
          return { model: chat.model, contents, ...(config === undefined ? {} : { config }) };
        };
        return routeProxy(chat, {
          sendMessage: () => (send: SendMessageParams) => trackGenerateWith(callBinding(binding), paramsOf(send), () => chat.sendMessage(send), false),
          sendMessageStream: () => (send: SendMessageParams) => trackStreamWith(callBinding(binding), paramsOf(send), () => chat.sendMessageStream(send), false),
        });
      },
    },
  });
  return wrapped;
}

/**
 * The binding of one call, with its user and limiter resolved now: requests the SDK makes later,
 * while the caller iterates a stream (AFC steps, continuation hops), possibly outside the request
 * context, are charged to the same user on the same limiter.
 */
function callBinding(binding: Binding): Binding {
  const userId = binding.userId ?? currentUserId();
  const limiter = binding.limiter();
  return { ...binding, userId, limiter: () => limiter };
}

/**
 * A fresh `Models` on the same API client whose request primitives are tracked; its public
 * methods are the SDK's own (arrow functions bound to the new instance), so AFC loops and
 * continuation hops run exactly as in the SDK. Undefined if this SDK version has no such primitives.
 */
function trackedModels(
  models: ModelsLike,
  generate: (params: GenerateParams, send: (p: GenerateParams) => Promise<unknown>) => Promise<unknown>,
  stream: (params: GenerateParams, open: (p: GenerateParams) => Promise<AsyncIterable<unknown>>) => Promise<AsyncGenerator<unknown>>,
): ModelsLike | undefined {
  const proto = Object.getPrototypeOf(models) as Partial<ModelsInternals> & { constructor?: unknown };
  const Ctor = proto.constructor;
  const { generateContentInternal, generateContentStreamInternal } = proto;
  if (typeof Ctor !== 'function' || typeof generateContentInternal !== 'function' || typeof generateContentStreamInternal !== 'function' || asObject(models.apiClient) === undefined) {
    return undefined;
  }
  // The shadow's API client counts the HTTP requests it sends, so that a request the SDK refused
  // before sending (parameters it cannot convert) is known never to have been sent.
  let sent = 0;
  const apiClient = new Proxy(models.apiClient as object, {
    get(target, key) {
      const value = Reflect.get(target, key, target) as unknown;
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (key !== 'request' && key !== 'requestStream') return method.bind(target);
      return (...args: unknown[]) => {
        sent += 1;
        return method.apply(target, args);
      };
    },
  });
  const unlessSent = async <T>(send: () => Promise<T>): Promise<T> => {
    const before = sent;
    try {
      return await send();
    } catch (error) {
      if (sent === before) markNeverSent(error);
      throw error;
    }
  };
  const shadow = new (Ctor as new (apiClient: unknown) => ModelsLike & ModelsInternals)(apiClient);
  if (typeof shadow.generateContent !== 'function' || typeof shadow.generateContentStream !== 'function') return undefined;
  shadow.generateContentInternal = (params) => generate(params, (p) => unlessSent(() => generateContentInternal.call(shadow, p)));
  shadow.generateContentStreamInternal = (params) => stream(params, (p) => unlessSent(() => generateContentStreamInternal.call(shadow, p)));
  return shadow;
}
