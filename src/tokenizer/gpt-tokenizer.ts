/**
 * The default tokenizer, on `gpt-tokenizer`'s data. Each encoding is loaded on its own, so loading
 * `o200k_base` never loads `cl100k_base`. Where the file system can read the package's `.tiktoken`
 * data file, the ranks go into a compact table and are counted here (compact-bpe.ts: about 15 MB
 * of resident memory for o200k_base over the library, against about 41 MB for the package's
 * encoder built from the same file); else (bundled or non-Node runtimes) the package's own
 * encoding module counts.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, TokenizerUnavailableError } from '../kernel/errors.js';
import { LruMap } from '../kernel/lru.js';
import { isPlainObject, rejectUnknownKeys } from '../kernel/validate.js';
import { nodeRequire } from './node-require.js';
import { CompactBpeCounter, CompactRanks } from './compact-bpe.js';
import type { EncodingName, Tokenizer } from './types.js';

/** The part of a gpt-tokenizer encoding module that is used. */
interface GptEncodingModule {
  countTokens(text: string, options?: { disallowedSpecial?: Set<string> }): number;
}

const PACKAGE = 'gpt-tokenizer';
/** Special-token strings in user text are ordinary text (an empty disallowed set, none allowed). */
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };
/** Loaded encoders, shared by every instance (the package caches its modules anyway). */
const loaded: Partial<Record<EncodingName, GptEncodingModule>> = {};
const pending: Partial<Record<EncodingName, Promise<GptEncodingModule>>> = {};
/** Where each loaded encoding's ranks came from (for tests). */
const sources: Partial<Record<EncodingName, 'data-file' | 'module'>> = {};

/** gpt-tokenizer's pre-token expressions (`gpt-tokenizer/encodingParams/constants`). */
interface SplitExpressions {
  R50K_TOKEN_SPLIT_REGEX: RegExp;
  CL100K_TOKEN_SPLIT_REGEX: RegExp;
  O200K_TOKEN_SPLIT_REGEX: RegExp;
}

/** Where the package's data file of an encoding is, or undefined where it cannot be resolved. */
function dataFilePath(encoding: EncodingName): string | undefined {
  try {
    const path = nodeRequire()?.resolve(`gpt-tokenizer/data/${encoding}.tiktoken`);
    return typeof path === 'string' ? path : undefined;
  } catch {
    return undefined;
  }
}

function fromDataFile(expressions: SplitExpressions, encoding: EncodingName, data: Uint8Array): GptEncodingModule {
  const split = {
    o200k_base: expressions.O200K_TOKEN_SPLIT_REGEX,
    cl100k_base: expressions.CL100K_TOKEN_SPLIT_REGEX,
    p50k_base: expressions.R50K_TOKEN_SPLIT_REGEX,
    r50k_base: expressions.R50K_TOKEN_SPLIT_REGEX,
  }[encoding];
  if (!(split instanceof RegExp)) throw new Error(`no pre-token expression for ${encoding}`);
  const counter = new CompactBpeCounter(new CompactRanks(data), split);
  sources[encoding] = 'data-file';
  return { countTokens: (text) => counter.countTokens(text) };
}

/** The encoding built from the data file, or undefined when it cannot be (the module is used then). */
async function importFromDataFile(encoding: EncodingName): Promise<GptEncodingModule | undefined> {
  const path = dataFilePath(encoding);
  if (path === undefined) return undefined;
  try {
    const [data, module] = await Promise.all([readFile(path), import('gpt-tokenizer/encodingParams/constants')]);
    return fromDataFile(module as SplitExpressions, encoding, data);
  } catch {
    return undefined;
  }
}

function requireFromDataFile(encoding: EncodingName): GptEncodingModule | undefined {
  const path = dataFilePath(encoding);
  if (path === undefined) return undefined;
  try {
    const expressions = nodeRequire()!('gpt-tokenizer/encodingParams/constants') as SplitExpressions;
    return fromDataFile(expressions, encoding, readFileSync(path));
  } catch {
    return undefined;
  }
}

async function importEncoding(encoding: EncodingName): Promise<GptEncodingModule> {
  const fromFile = await importFromDataFile(encoding);
  if (fromFile !== undefined) return fromFile;
  sources[encoding] = 'module';
  // Literal specifiers keep the imports visible to bundlers.
  switch (encoding) {
    case 'o200k_base':
      return import('gpt-tokenizer/encoding/o200k_base');
    case 'cl100k_base':
      return import('gpt-tokenizer/encoding/cl100k_base');
    case 'p50k_base':
      return import('gpt-tokenizer/encoding/p50k_base');
    case 'r50k_base':
      return import('gpt-tokenizer/encoding/r50k_base');
  }
}

function requireEncoding(encoding: EncodingName): GptEncodingModule {
  const req = nodeRequire();
  if (req === undefined) {
    throw new TokenizerUnavailableError(PACKAGE, encoding, 'no synchronous require in this runtime; await warmup() first');
  }
  const fromFile = requireFromDataFile(encoding);
  if (fromFile !== undefined) return fromFile;
  sources[encoding] = 'module';
  try {
    switch (encoding) {
      case 'o200k_base':
        return req('gpt-tokenizer/encoding/o200k_base') as GptEncodingModule;
      case 'cl100k_base':
        return req('gpt-tokenizer/encoding/cl100k_base') as GptEncodingModule;
      case 'p50k_base':
        return req('gpt-tokenizer/encoding/p50k_base') as GptEncodingModule;
      case 'r50k_base':
        return req('gpt-tokenizer/encoding/r50k_base') as GptEncodingModule;
    }
  } catch (error) {
    throw new TokenizerUnavailableError(PACKAGE, encoding, 'the package could not be required', { cause: error });
  }
}

function encoder(encoding: EncodingName): GptEncodingModule {
  return (loaded[encoding] ??= requireEncoding(encoding));
}

async function load(encoding: EncodingName): Promise<void> {
  if (loaded[encoding] !== undefined) return;
  const promise = (pending[encoding] ??= importEncoding(encoding).catch((error: unknown) => {
    delete pending[encoding];
    throw new TokenizerUnavailableError(PACKAGE, encoding, 'the package could not be imported', { cause: error });
  }));
  const module = await promise;
  loaded[encoding] ??= module;
}

/** Options of {@link gptTokenizer}. */
export interface GptTokenizerOptions {
  /**
   * Keep the counts of the last 4,096 pieces of text counted (the walk counts texts in pieces of
   * about 256 characters; pieces over 512 are not kept), so that text sent again (a system prompt,
   * a chat's history, tool definitions) is not counted again: inside a wrapped call, counting even
   * a short prompt takes tens of µs. Costs at most about 4.7 MB of heap per encoding in use
   * (measured: 4,096 kept pieces of 512 CJK characters; 2.6 MB for 512 Latin ones).
   * @default true
   */
  countCache?: boolean;
}

/** Pieces whose counts are kept (see {@link GptTokenizerOptions.countCache}), per encoding. */
const CACHED_PIECES = 4_096;
/** Longer texts are counted every time. */
const CACHED_PIECE_LENGTH = 512;

/** The `gpt-tokenizer` implementation of {@link Tokenizer} (the default). */
export function gptTokenizer(options: GptTokenizerOptions = {}): Tokenizer {
  if (!isPlainObject(options)) throw new InvalidArgumentError('options', options, 'expected an object');
  rejectUnknownKeys(options, ['countCache'], 'options');
  if (options.countCache !== undefined && typeof options.countCache !== 'boolean') {
    throw new InvalidArgumentError('options.countCache', options.countCache, 'expected true or false');
  }
  const caches = options.countCache === false ? undefined : new Map<EncodingName, LruMap<string, number>>();
  return {
    name: PACKAGE,
    count(text, encoding) {
      if (text.length === 0) return 0;
      if (caches === undefined || text.length > CACHED_PIECE_LENGTH) return encoder(encoding).countTokens(text, PLAIN_TEXT);
      let cache = caches.get(encoding);
      if (cache === undefined) caches.set(encoding, (cache = new LruMap(CACHED_PIECES)));
      let count = cache.get(text);
      if (count === undefined) {
        count = encoder(encoding).countTokens(text, PLAIN_TEXT);
        // A copy as the key: a piece cut from a long prompt would otherwise keep the whole prompt
        // alive (V8's substrings point into their parent; a flattened concatenation does not).
        // V8 copies substrings under 13 characters anyway.
        cache.set(text.length > 12 ? (' ' + text).slice(1) : text, count);
      }
      return count;
    },
    async warmup(encodings = ['o200k_base', 'cl100k_base']) {
      await Promise.all(encodings.map(load));
    },
    isLoaded(encoding) {
      return loaded[encoding] !== undefined;
    },
  };
}

/** Where a loaded encoding's ranks came from: the package's data file, or its module (for tests). */
export function encodingSource(encoding: EncodingName): 'data-file' | 'module' | undefined {
  return loaded[encoding] === undefined ? undefined : sources[encoding];
}

let shared: Tokenizer | undefined;

/** The tokenizer used when none is given: a shared {@link gptTokenizer}. */
export function defaultTokenizer(): Tokenizer {
  return (shared ??= gptTokenizer());
}
