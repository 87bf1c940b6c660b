/**
 * Adapter for `js-tiktoken`, an optional peer dependency for applications that already ship it.
 * It is only loaded when this adapter is used (dynamic import, or a synchronous require on the first
 * count); a missing package gives a {@link TokenizerUnavailableError}.
 */
import { TokenizerUnavailableError } from '../kernel/errors.js';
import { nodeRequire } from './node-require.js';
import type { EncodingName, Tokenizer } from './types.js';

/** The part of js-tiktoken's `Tiktoken` class that is used. */
interface TiktokenLike {
  encode(text: string, allowedSpecial?: string[] | 'all', disallowedSpecial?: string[] | 'all'): number[];
}
interface LiteModule {
  Tiktoken: new (ranks: RanksData) => TiktokenLike;
}
interface RanksData {
  pat_str: string;
  special_tokens: Record<string, number>;
  bpe_ranks: string;
}

const PACKAGE = 'js-tiktoken';
const NO_SPECIAL: string[] = [];
const loaded: Partial<Record<EncodingName, TiktokenLike>> = {};
const pending: Partial<Record<EncodingName, Promise<TiktokenLike>>> = {};

function ranksOf(module: unknown, encoding: EncodingName): RanksData {
  const candidate = (module as { default?: unknown }).default ?? module;
  if (typeof candidate !== 'object' || candidate === null || typeof (candidate as RanksData).bpe_ranks !== 'string') {
    throw new TokenizerUnavailableError(PACKAGE, encoding, 'unexpected shape of the ranks module');
  }
  return candidate as RanksData;
}

function liteOf(module: unknown, encoding: EncodingName): LiteModule {
  const candidate = module as Partial<LiteModule> & { default?: Partial<LiteModule> };
  const ctor = candidate.Tiktoken ?? candidate.default?.Tiktoken;
  if (typeof ctor !== 'function') throw new TokenizerUnavailableError(PACKAGE, encoding, 'Tiktoken class not found');
  return { Tiktoken: ctor };
}

// Literal specifiers keep the imports visible to bundlers.
function importRanks(encoding: EncodingName): Promise<unknown> {
  switch (encoding) {
    case 'o200k_base':
      return import('js-tiktoken/ranks/o200k_base');
    case 'cl100k_base':
      return import('js-tiktoken/ranks/cl100k_base');
    case 'p50k_base':
      return import('js-tiktoken/ranks/p50k_base');
    case 'r50k_base':
      return import('js-tiktoken/ranks/r50k_base');
  }
}

function requireRanks(req: NodeJS.Require, encoding: EncodingName): unknown {
  switch (encoding) {
    case 'o200k_base':
      return req('js-tiktoken/ranks/o200k_base');
    case 'cl100k_base':
      return req('js-tiktoken/ranks/cl100k_base');
    case 'p50k_base':
      return req('js-tiktoken/ranks/p50k_base');
    case 'r50k_base':
      return req('js-tiktoken/ranks/r50k_base');
  }
}

function notInstalled(encoding: EncodingName, error: unknown): TokenizerUnavailableError {
  return new TokenizerUnavailableError(PACKAGE, encoding, 'it is not installed (npm install js-tiktoken) or failed to load', {
    cause: error,
  });
}

function encoder(encoding: EncodingName): TiktokenLike {
  const existing = loaded[encoding];
  if (existing !== undefined) return existing;
  const req = nodeRequire();
  if (req === undefined) {
    throw new TokenizerUnavailableError(PACKAGE, encoding, 'no synchronous require in this runtime; await warmup() first');
  }
  let lite: unknown;
  let ranks: unknown;
  try {
    lite = req('js-tiktoken/lite');
    ranks = requireRanks(req, encoding);
  } catch (error) {
    throw notInstalled(encoding, error);
  }
  const created = new (liteOf(lite, encoding).Tiktoken)(ranksOf(ranks, encoding));
  loaded[encoding] = created;
  return created;
}

async function load(encoding: EncodingName): Promise<void> {
  if (loaded[encoding] !== undefined) return;
  const promise = (pending[encoding] ??= (async () => {
    let lite: unknown;
    let ranks: unknown;
    try {
      [lite, ranks] = await Promise.all([import('js-tiktoken/lite'), importRanks(encoding)]);
    } catch (error) {
      delete pending[encoding];
      throw notInstalled(encoding, error);
    }
    return new (liteOf(lite, encoding).Tiktoken)(ranksOf(ranks, encoding));
  })());
  const created = await promise;
  loaded[encoding] ??= created;
}

/**
 * A {@link Tokenizer} on `js-tiktoken` (optional peer dependency). Counts are identical to the
 * default tokenizer's; it is slower and heavier, and exists for applications that already load it.
 */
export function jsTiktokenTokenizer(): Tokenizer {
  return {
    name: PACKAGE,
    count(text, encoding) {
      if (text.length === 0) return 0;
      return encoder(encoding).encode(text, NO_SPECIAL, NO_SPECIAL).length;
    },
    async warmup(encodings = ['o200k_base', 'cl100k_base']) {
      await Promise.all(encodings.map(load));
    },
    isLoaded(encoding) {
      return loaded[encoding] !== undefined;
    },
  };
}
