/**
 * Input estimate for Anthropic `messages.create` requests. Claude's current tokenizer is not public:
 * text is bounded per chunk by the larger of a heuristic fitted to the legacy Claude tokenizer and
 * a robust term on the exact o200k count, scaled to the model family's published ratio, and capped
 * by UTF-8 bytes (see `heuristic-count.ts` and docs/token-estimation.md). PDFs and documents by
 * URL or file id are bounded by the model's context window. For exact counts, pass the free
 * `messages.countTokens` endpoint to `refineInputTokens`.
 */
import type { MessageCreateParams } from '@anthropic-ai/sdk/resources/messages/messages';
import { InvalidArgumentError } from '../../kernel/errors.js';
import {
  asRecord,
  makeEstimate,
  modelLimits,
  optionalCount,
  requireParams,
  TokenTally,
  withExactTokenLimit,
  withHiddenInput,
  type EstimateOptions,
  type RequestEstimate,
} from '../estimate-types.js';
import { CLAUDE_PROFILE, referenceCountNow } from '../heuristic-count.js';
import { tallyInlineFile } from '../hidden-input.js';

/**
 * Model-family multipliers over the legacy-tokenizer heuristic. Claude 3.x-4.6: 1.15 (published
 * comparisons give Claude 3.5 Sonnet +16% tokens on English and +30% on code over GPT-4o; the legacy
 * tokenizer measures +5%: the factor bridges that gap). Opus 4.7 and later, Sonnet 5 and newer
 * models: x1.30 more (Anthropic: "approximately 30 percent more tokens than on earlier models").
 */
export const CLAUDE_FACTORS = { claude3to46: 1.15, newTokenizer: 1.5 } as const;
/** Tokens of the system prompt Anthropic adds when tools are given (published: 346 for Claude 4.x with auto/none). */
export const CLAUDE_TOOL_SYSTEM_TOKENS = 346;
/** Assumed overhead per message (role markers); not published. */
export const CLAUDE_MESSAGE_OVERHEAD = 4;
/** Tokens held for an image of unknown size (Anthropic: about width*height/750, at most ~1,600 after resizing). */
export const CLAUDE_IMAGE_TOKENS = 1600;

/**
 * Anthropic's server tool types (versioned names, e.g. `web_search_20250305`), run on its side. The
 * advisor (`advisor_20260301`) has another model read the whole conversation at each consultation.
 */
const SERVER_TOOL = /^(web_search|web_fetch|code_execution|tool_search|mcp_toolset|advisor)/;

/** Factors of the model names seen last (a client uses few): a name is parsed once, not per call. */
const factors = new Map<string, number>();
/** Model names kept in {@link factors}; past it the map starts over. */
const KEPT_FACTORS = 64;
/** Longer names are parsed every time rather than kept. */
const KEPT_NAME_LENGTH = 200;

/** The family multiplier for a Claude model name (unknown models get the newer, larger factor). */
export function claudeModelFactor(model: string): number {
  if (model.length > KEPT_NAME_LENGTH) return parseModelFactor(model);
  let factor = factors.get(model);
  if (factor === undefined) {
    factor = parseModelFactor(model);
    if (factors.size >= KEPT_FACTORS) factors.clear();
    factors.set(model, factor);
  }
  return factor;
}

function parseModelFactor(model: string): number {
  const name = model.toLowerCase().replace(/^.*\//, '').replace(/^anthropic\./, '');
  if (/^claude-(?:3|2|instant)/.test(name)) return CLAUDE_FACTORS.claude3to46;
  const match = /^claude-(?:opus|sonnet|haiku)-(\d+)(?:-(\d)(?!\d))?/.exec(name);
  if (match) {
    const major = Number(match[1]);
    const minor = match[2] === undefined ? 0 : Number(match[2]);
    if (major < 4 || (major === 4 && minor <= 6)) return CLAUDE_FACTORS.claude3to46;
  }
  return CLAUDE_FACTORS.newTokenizer;
}

function imageTokens(block: Record<string, unknown>): number {
  void block;
  return CLAUDE_IMAGE_TOKENS;
}

function tallyBlocks(content: unknown, tally: TokenTally, parameter: string): void {
  if (typeof content === 'string') {
    tally.text(content);
    return;
  }
  if (!Array.isArray(content)) throw new InvalidArgumentError(parameter, content, 'expected a string or an array of content blocks');
  content.forEach((raw, index) => {
    const block = asRecord(raw);
    if (block === undefined) throw new InvalidArgumentError(`${parameter}[${index}]`, raw, 'expected a content block');
    switch (block['type']) {
      case 'text':
        tally.text(block['text']);
        break;
      case 'image':
        tally.add(imageTokens(block));
        break;
      case 'document': {
        const source = asRecord(block['source']);
        if (source?.['type'] === 'text') tally.text(source['data']);
        else if (source?.['type'] === 'content') tallyBlocks(source['content'], tally, `${parameter}[${index}].source.content`);
        else if (source?.['type'] === 'base64' && typeof source['data'] === 'string') {
          tallyInlineFile(source['data'], typeof source['media_type'] === 'string' ? source['media_type'] : undefined, undefined, tally);
        } else tally.hide('a document by URL or file id');
        tally.text(block['title']);
        tally.text(block['context']);
        break;
      }
      case 'tool_use':
      case 'server_tool_use':
        tally.text(block['name']);
        tally.text(JSON.stringify(block['input'] ?? {}));
        break;
      case 'tool_result':
        if (block['content'] !== undefined) tallyBlocks(block['content'], tally, `${parameter}[${index}].content`);
        break;
      case 'thinking':
        tally.text(block['thinking']);
        break;
      case 'redacted_thinking':
        tally.text(block['data']);
        break;
      default:
        tally.text(JSON.stringify(block));
    }
  });
}

/**
 * Estimates a `messages.create` request: system prompt, messages (text, images, documents, tool use
 * and results, thinking), tool definitions (their JSON plus the tool-use system prompt). Output:
 * `max_tokens` (required by the API; extended-thinking budgets are part of it).
 */
export async function estimateAnthropicMessage(params: MessageCreateParams, options?: EstimateOptions): Promise<RequestEstimate> {
  return anthropicMessageEstimate(params, options);
}

/**
 * {@link estimateAnthropicMessage}, returned at once (not as a promise) when counting needs no wait
 * (see `referenceCountNow`); throws what it rejects with. What a wrapped call plans with.
 */
export function anthropicMessageEstimate(params: MessageCreateParams, options?: EstimateOptions): RequestEstimate | Promise<RequestEstimate> {
  const { record, model } = requireParams(params);
  const maxTokens = optionalCount(record, 'max_tokens');
  if (maxTokens === undefined) throw new InvalidArgumentError('params.max_tokens', record['max_tokens'], 'is required by the Messages API');
  const messages = record['messages'];
  if (!Array.isArray(messages)) throw new InvalidArgumentError('params.messages', messages, 'expected an array of messages');
  const tally = new TokenTally();
  if (record['system'] !== undefined && record['system'] !== null) {
    tally.add(CLAUDE_MESSAGE_OVERHEAD);
    tallyBlocks(record['system'], tally, 'params.system');
  }
  messages.forEach((raw, index) => {
    const message = asRecord(raw);
    if (message === undefined) throw new InvalidArgumentError(`params.messages[${index}]`, raw, 'expected a message object');
    tally.add(CLAUDE_MESSAGE_OVERHEAD);
    tallyBlocks(message['content'], tally, `params.messages[${index}].content`);
  });
  const tools = record['tools'];
  // Server tools (web search and fetch, code execution, tool search, MCP toolsets, the advisor)
  // add what they fetch, run or read to the call's input; so do the tools of MCP servers
  // (`mcp_servers`, beta).
  if (Array.isArray(tools)) {
    for (const tool of tools) {
      const type = asRecord(tool)?.['type'];
      if (typeof type === 'string' && SERVER_TOOL.test(type)) tally.hide(`the ${type} server tool`);
    }
  }
  if (Array.isArray(record['mcp_servers']) && record['mcp_servers'].length > 0) tally.hide('MCP servers');
  if (Array.isArray(tools) && tools.length > 0) {
    tally.add(CLAUDE_TOOL_SYSTEM_TOKENS);
    for (const tool of tools) tally.text(JSON.stringify(tool));
  }
  tally.add(CLAUDE_MESSAGE_OVERHEAD); // assistant turn priming
  const limits = modelLimits('anthropic', model, options);
  const counting = withExactTokenLimit(options, Math.min(options?.exactTokenLimit ?? Infinity, limits.contextWindow));
  const counted = referenceCountNow(tally.texts, CLAUDE_PROFILE, claudeModelFactor(model), counting);
  const finish = (tokens: number): RequestEstimate => {
    const visible = tally.fixed + tokens;
    const input = tally.hidden === undefined ? visible : withHiddenInput(visible, limits);
    return makeEstimate({ provider: 'anthropic', model, endpoint: 'messages', inputTokens: input, outputTokens: maxTokens, outputFromRequest: true, exact: false, method: 'heuristic' });
  };
  return typeof counted === 'number' ? finish(counted) : counted.then(finish);
}
