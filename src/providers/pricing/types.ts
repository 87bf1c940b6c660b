/** Price types: US dollars per million tokens. */

/** Rates that apply above a prompt size (e.g. Gemini 2.5 Pro above 200k prompt tokens). */
export interface PriceTier {
  /** The tier applies when the prompt (all input tokens, cached ones included) exceeds this. */
  aboveInputTokens: number;
  input: number;
  output: number;
  cachedInput?: number;
  cacheWrite?: number;
  cacheWrite1h?: number;
}

/** The price of one model, USD per million tokens. */
export interface ModelPrice {
  /** Uncached input tokens. */
  input: number;
  /** Output tokens (reasoning/thinking included). */
  output: number;
  /** Input tokens read from a cache; default: `input`. */
  cachedInput?: number;
  /** Input tokens written to a cache (Anthropic 5-minute writes); default: `input`. */
  cacheWrite?: number;
  /** Anthropic 1-hour cache writes; default: `cacheWrite`. */
  cacheWrite1h?: number;
  /** Audio input tokens (OpenAI audio models); default: `input`. */
  audioInput?: number;
  /** Audio output tokens (OpenAI audio models); default: `output`. */
  audioOutput?: number;
  /** Higher rates for long prompts, ascending by threshold. */
  tiers?: readonly PriceTier[];
  /** OpenAI's rates for calls run with `service_tier: 'priority'`; default: twice every rate above. */
  priority?: ServiceTierPrice;
  /**
   * Anthropic's fast mode (`speed: 'fast'`): every rate above times this; default 6, the highest
   * multiplier Anthropic's fast-mode page has listed.
   */
  fastMultiplier?: number;
  /**
   * USD per 1,000 web searches the provider ran for a call (Anthropic's `web_search` server tool,
   * counted in `usage.server_tool_use.web_search_requests`), on top of the tokens; default 0.
   * A flat fee: fast mode and US inference do not multiply it.
   */
  webSearchPerThousand?: number;
}

/**
 * What besides the model sets the rates of one call, as its request asks for it or its response
 * reports it: OpenAI's service tier, Anthropic's speed and inference geography.
 */
export interface RateModifiers {
  /** OpenAI `service_tier`: `priority` and `flex` have rates of their own. */
  serviceTier?: string | undefined;
  /** Anthropic `speed`: `fast` is priced at the model's fast multiplier. */
  speed?: string | undefined;
  /** Anthropic `inference_geo`: `us` (inference kept in the US) is priced at 1.1 times every rate. */
  inferenceGeo?: string | undefined;
}

/** The rates of a service tier (OpenAI `priority`), USD per million tokens. */
export interface ServiceTierPrice {
  input: number;
  output: number;
  /** Input tokens read from a cache; default: `input`. */
  cachedInput?: number;
}

/** A user's price for a model (the `pricing` option). */
export interface PriceOverride {
  input: number;
  output: number;
  cachedInput?: number;
  cacheWrite?: number;
  cacheWrite1h?: number;
  /** Audio input tokens (OpenAI audio models); default: `input`. */
  audioInput?: number;
  /** Audio output tokens (OpenAI audio models); default: `output`. */
  audioOutput?: number;
  /** Rates for OpenAI calls run with `service_tier: 'priority'`; default: twice every rate above. */
  priority?: ServiceTierPrice;
  /** Anthropic's fast mode (`speed: 'fast'`): every rate above times this; default 6 (or the built-in table's for the model). */
  fastMultiplier?: number;
  /** USD per 1,000 web searches (Anthropic's `web_search` tool); default: the built-in table's for the model (Claude: 10), else 0. */
  webSearchPerThousand?: number;
}

/** `pricing` option: prices by model name (dated snapshots resolve to these by prefix). */
export type PriceOverrides = Readonly<Record<string, PriceOverride>>;
