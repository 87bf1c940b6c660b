/**
 * The AI SDK's normalized call (`LanguageModelV3CallOptions` of `ai` 6, `V4` of `ai` 7: prompt,
 * tools, output maximum, response format) rewritten as the request of a provider family, so that
 * the family's own estimator bounds it (src/providers/{openai,anthropic,google}/estimate.ts).
 * Only what the estimators read is written: the request the provider receives is the AI SDK's own.
 *
 * Files keep their documented bounds by becoming the family's native blocks:
 * - images: OpenAI `image_url` (sized from a data URL when it can be, else the high-detail bound),
 *   Claude `image` (1,600 tokens), Gemini `inlineData`/`fileData` image (1,032 tokens);
 * - text-like files (text/*, JSON, CSV...) inline: their decoded UTF-8 bytes;
 * - audio inline: 10 tokens per second of the lowest bitrate its size allows (OpenAI);
 * - PDFs and other documents, video, and files by URL or provider reference: the model's context
 *   window (hidden input, see `withHiddenInput`).
 * Provider-executed tools (web search, code execution...) add what they fetch: the context window.
 */
import { asRecord } from '../estimate-types.js';
import { isTextFile } from '../hidden-input.js';

/** The parts of the AI SDK's call options the estimate reads (v3 and v4 shapes). */
export interface AiCallParams {
  prompt?: unknown;
  tools?: unknown;
  maxOutputTokens?: number | undefined;
  responseFormat?: unknown;
  providerOptions?: unknown;
  headers?: unknown;
  /** The caller's signal: a call aborted before it is sent is released, not charged. */
  abortSignal?: unknown;
}

/** A family request and what it cannot show. */
export interface FamilyRequest {
  params: Record<string, unknown>;
  /** Why some input is hidden (bounded by the context window), if any. */
  hidden: string | undefined;
}

/** One file part, whatever the data shape (v3: bytes, base64 or URL; v4: a tagged union). */
interface FileView {
  mediaType: string;
  filename: string | undefined;
  base64?: string;
  url?: string;
  text?: string;
  /** A provider-side file reference (v4). */
  reference?: boolean;
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function fileView(part: Record<string, unknown>): FileView {
  const mediaType = typeof part['mediaType'] === 'string' ? part['mediaType'] : 'application/octet-stream';
  const filename = typeof part['filename'] === 'string' ? part['filename'] : undefined;
  const view: FileView = { mediaType, filename };
  const data = part['data'];
  if (data instanceof Uint8Array) view.base64 = toBase64(data);
  else if (data instanceof URL) view.url = data.href;
  else if (typeof data === 'string') {
    if (/^(https?|gs|file):\/\//i.test(data)) view.url = data;
    else view.base64 = data.replace(/^data:[^,]*,/, '');
  } else {
    const tagged = asRecord(data);
    switch (tagged?.['type']) {
      case 'data':
        if (tagged['data'] instanceof Uint8Array) view.base64 = toBase64(tagged['data']);
        else if (typeof tagged['data'] === 'string') view.base64 = tagged['data'];
        break;
      case 'url':
        view.url = tagged['url'] instanceof URL ? tagged['url'].href : String(tagged['url']);
        break;
      case 'text':
        view.text = typeof tagged['text'] === 'string' ? tagged['text'] : '';
        break;
      default:
        view.reference = true;
    }
  }
  return view;
}

function dataUrl(file: FileView): string {
  return `data:${file.mediaType};base64,${file.base64 ?? ''}`;
}

/** The text of a tool result's output (`text`, `json`, `content`, errors, denials). */
function toolOutputText(output: unknown): string {
  const o = asRecord(output);
  if (o === undefined) return JSON.stringify(output ?? null);
  if (typeof o['value'] === 'string') return o['value'];
  if (o['type'] === 'content' && Array.isArray(o['value'])) {
    return o['value'].map((item) => (typeof asRecord(item)?.['text'] === 'string' ? (asRecord(item)!['text'] as string) : JSON.stringify(item))).join('\n');
  }
  return JSON.stringify(o['value'] ?? o['reason'] ?? o);
}

/** Tool-call input: a JSON string in v3, a value in some providers' replays. */
function toolInputText(input: unknown): string {
  return typeof input === 'string' ? input : JSON.stringify(input ?? {});
}

interface Walk {
  system(text: string): void;
  text(role: 'user' | 'assistant', text: string): void;
  file(role: 'user' | 'assistant', file: FileView): void;
  toolCall(id: string, name: string, input: string): void;
  toolResult(id: string, name: string, output: string): void;
  /** Ends the current message (a new role starts a new one). */
  end(): void;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Walks a normalized prompt in order; unknown parts are kept as their JSON text. */
function walkPrompt(prompt: unknown, walk: Walk): void {
  if (!Array.isArray(prompt)) return;
  for (const raw of prompt) {
    const message = asRecord(raw);
    if (message === undefined) continue;
    const role = message['role'];
    if (role === 'system') {
      walk.system(str(message['content']));
      continue;
    }
    const content = Array.isArray(message['content']) ? message['content'] : [message['content']];
    const speaker = role === 'assistant' ? 'assistant' : 'user';
    for (const item of content) {
      const part = asRecord(item);
      if (typeof item === 'string') walk.text(speaker, item);
      else if (part === undefined) continue;
      else if (part['type'] === 'text' || part['type'] === 'reasoning') walk.text(speaker, str(part['text']));
      else if (part['type'] === 'file' || part['type'] === 'reasoning-file') walk.file(speaker, fileView(part));
      else if (part['type'] === 'tool-call') walk.toolCall(str(part['toolCallId']), str(part['toolName']), toolInputText(part['input']));
      else if (part['type'] === 'tool-result') walk.toolResult(str(part['toolCallId']), str(part['toolName']), toolOutputText(part['output']));
      else walk.text(speaker, JSON.stringify(part));
    }
    walk.end();
  }
}

/** Function tools as `{ name, description, schema }`; provider tools mark hidden input. */
function toolsOf(tools: unknown): { functions: Array<{ name: string; description: string | undefined; schema: unknown }>; providerTool: string | undefined } {
  const functions: Array<{ name: string; description: string | undefined; schema: unknown }> = [];
  let providerTool: string | undefined;
  if (!Array.isArray(tools)) return { functions, providerTool };
  for (const raw of tools) {
    const tool = asRecord(raw);
    if (tool === undefined) continue;
    if (tool['type'] === 'function') {
      functions.push({ name: str(tool['name']), description: typeof tool['description'] === 'string' ? tool['description'] : undefined, schema: tool['inputSchema'] ?? {} });
    } else {
      providerTool ??= `the provider tool ${str(tool['id']) || str(tool['name'])}`;
      functions.push({ name: str(tool['name']), description: undefined, schema: tool['args'] ?? {} });
    }
  }
  return { functions, providerTool };
}

/** The JSON schema of a `responseFormat: { type: 'json', schema }`, if any. */
function responseSchema(params: AiCallParams): unknown {
  const format = asRecord(params.responseFormat);
  return format?.['type'] === 'json' ? (format['schema'] ?? {}) : undefined;
}

function isImage(file: FileView): boolean {
  return file.mediaType.startsWith('image/');
}

/** A Chat Completions request (`openai.chat`, `openai.responses` and compatible providers). */
export function toOpenAIChat(model: string, params: AiCallParams): FamilyRequest {
  const messages: Array<Record<string, unknown>> = [];
  let current: { role: string; content: Array<Record<string, unknown>>; toolCalls: Array<Record<string, unknown>> } | undefined;
  const open = (role: string) => (current ??= { role, content: [], toolCalls: [] });
  walkPrompt(params.prompt, {
    system: (text) => messages.push({ role: 'system', content: text }),
    text: (role, text) => void open(role).content.push({ type: 'text', text }),
    file(role, file) {
      const content = open(role).content;
      if (file.text !== undefined) content.push({ type: 'text', text: file.text });
      else if (isImage(file)) content.push({ type: 'image_url', image_url: { url: file.url ?? dataUrl(file) } });
      else if (file.mediaType.startsWith('audio/') && file.base64 !== undefined) content.push({ type: 'input_audio', input_audio: { data: file.base64, format: file.mediaType.slice(6) } });
      else if (file.base64 !== undefined) content.push({ type: 'file', file: { file_data: dataUrl(file), ...(file.filename ? { filename: file.filename } : {}) } });
      else content.push({ type: 'file', file: { file_id: file.url ?? 'reference' } });
    },
    toolCall: (id, name, input) => void open('assistant').toolCalls.push({ id, type: 'function', function: { name, arguments: input } }),
    toolResult: (id, _name, output) => messages.push({ role: 'tool', tool_call_id: id, content: output }),
    end() {
      if (current === undefined) return;
      const message: Record<string, unknown> = { role: current.role, content: current.content };
      if (current.toolCalls.length > 0) message['tool_calls'] = current.toolCalls;
      if (current.content.length > 0 || current.toolCalls.length > 0) messages.push(message);
      current = undefined;
    },
  });
  const { functions, providerTool } = toolsOf(params.tools);
  const request: Record<string, unknown> = { model, messages };
  if (functions.length > 0) request['tools'] = functions.map((f) => ({ type: 'function', function: { name: f.name, ...(f.description ? { description: f.description } : {}), parameters: f.schema } }));
  const schema = responseSchema(params);
  if (schema !== undefined) request['response_format'] = { type: 'json_schema', json_schema: { name: 'response', schema } };
  if (params.maxOutputTokens !== undefined) request['max_completion_tokens'] = params.maxOutputTokens;
  return { params: request, hidden: providerTool };
}

/** A Messages request (`anthropic.messages`). `maxTokens` is the output hold (the API requires one). */
export function toAnthropic(model: string, params: AiCallParams, maxTokens: number): FamilyRequest {
  const system: Array<Record<string, unknown>> = [];
  const messages: Array<{ role: string; content: Array<Record<string, unknown>> }> = [];
  // Tool results go back in a user turn, as Anthropic requires.
  const block = (role: string, value: Record<string, unknown>) => {
    const last = messages[messages.length - 1];
    if (last?.role === role) last.content.push(value);
    else messages.push({ role, content: [value] });
  };
  walkPrompt(params.prompt, {
    system: (text) => void system.push({ type: 'text', text }),
    text: (role, text) => block(role, { type: 'text', text }),
    file(role, file) {
      if (file.text !== undefined) block(role, { type: 'document', source: { type: 'text', media_type: 'text/plain', data: file.text } });
      else if (isImage(file)) {
        block(role, { type: 'image', source: file.base64 !== undefined ? { type: 'base64', media_type: file.mediaType, data: file.base64 } : { type: 'url', url: file.url ?? '' } });
      } else if (file.base64 !== undefined) block(role, { type: 'document', source: { type: 'base64', media_type: file.mediaType, data: file.base64 }, title: file.filename });
      else block(role, { type: 'document', source: { type: 'url', url: file.url ?? 'reference' } });
    },
    toolCall: (id, name, input) => block('assistant', { type: 'tool_use', id, name, input }),
    toolResult: (id, _name, output) => block('user', { type: 'tool_result', tool_use_id: id, content: output }),
    end() {},
  });
  const { functions, providerTool } = toolsOf(params.tools);
  const tools = functions.map((f) => ({ name: f.name, ...(f.description ? { description: f.description } : {}), input_schema: f.schema }));
  // A JSON response is asked for through a tool (or an output format): its schema is input.
  const schema = responseSchema(params);
  if (schema !== undefined) tools.push({ name: 'json', input_schema: schema });
  const request: Record<string, unknown> = { model, max_tokens: maxTokens, messages };
  if (system.length > 0) request['system'] = system;
  if (tools.length > 0) request['tools'] = tools;
  return { params: request, hidden: providerTool };
}

/** A `generateContent` request in `@google/genai`'s shape (`google.generative-ai`, `google.vertex.*`). */
export function toGemini(model: string, params: AiCallParams): FamilyRequest {
  const systemParts: Array<Record<string, unknown>> = [];
  const contents: Array<{ role: string; parts: Array<Record<string, unknown>> }> = [];
  const part = (role: string, value: Record<string, unknown>) => {
    const r = role === 'assistant' ? 'model' : 'user';
    const last = contents[contents.length - 1];
    if (last?.role === r) last.parts.push(value);
    else contents.push({ role: r, parts: [value] });
  };
  walkPrompt(params.prompt, {
    system: (text) => void systemParts.push({ text }),
    text: (role, text) => part(role, { text }),
    file(role, file) {
      if (file.text !== undefined) part(role, { text: file.text });
      else if (file.base64 !== undefined) part(role, { inlineData: { mimeType: file.mediaType, data: file.base64 } });
      else part(role, { fileData: { mimeType: file.mediaType, fileUri: file.url ?? 'reference' } });
    },
    toolCall: (_id, name, input) => part('assistant', { functionCall: { name, args: input } }),
    toolResult: (_id, name, output) => part('user', { functionResponse: { name, response: { output } } }),
    end() {},
  });
  const { functions, providerTool } = toolsOf(params.tools);
  const config: Record<string, unknown> = {};
  if (systemParts.length > 0) config['systemInstruction'] = { parts: systemParts };
  const tools: Array<Record<string, unknown>> = [];
  if (functions.length > 0) tools.push({ functionDeclarations: functions.map((f) => ({ name: f.name, ...(f.description ? { description: f.description } : {}), parameters: f.schema })) });
  const schema = responseSchema(params);
  if (schema !== undefined) config['responseJsonSchema'] = schema;
  if (tools.length > 0) config['tools'] = tools;
  if (params.maxOutputTokens !== undefined) config['maxOutputTokens'] = params.maxOutputTokens;
  return { params: { model, contents: contents.length > 0 ? contents : [{ role: 'user', parts: [{ text: '' }] }], config }, hidden: providerTool };
}

/**
 * A provider of no known family: the texts of the prompt (text-like files included) and the JSON
 * of the tools and response schema, to be bounded by their UTF-8 bytes (no tokenizer in use makes
 * a token of less than a byte); any other file or a provider tool is hidden input.
 */
export function toTexts(params: AiCallParams): { texts: string[]; hidden: string | undefined } {
  const texts: string[] = [];
  let hidden: string | undefined;
  walkPrompt(params.prompt, {
    system: (text) => void texts.push(text),
    text: (_role, text) => void texts.push(text),
    file(_role, file) {
      if (file.text !== undefined) texts.push(file.text);
      else if (file.base64 !== undefined && isTextFile(file.mediaType, file.filename)) texts.push(Buffer.from(file.base64, 'base64').toString('utf8'));
      else hidden ??= `a ${file.mediaType} file`;
    },
    toolCall: (_id, name, input) => void texts.push(name, input),
    toolResult: (_id, _name, output) => void texts.push(output),
    end() {},
  });
  const { functions, providerTool } = toolsOf(params.tools);
  if (functions.length > 0) texts.push(JSON.stringify(functions));
  const schema = responseSchema(params);
  if (schema !== undefined) texts.push(JSON.stringify(schema));
  return { texts, hidden: hidden ?? providerTool };
}
