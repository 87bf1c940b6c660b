/** Model-limit resolution with the user's output overrides, and the output hold they imply. */
import { InvalidArgumentError } from '../../kernel/errors.js';
import { isPlainObject } from '../../kernel/validate.js';
import { BUILT_IN_LIMITS, UNKNOWN_MODEL_LIMITS, type ModelLimits } from './model-limits.js';
import { lookupModelKey, memoizeLookups, normalizeModelName } from './resolve.js';

memoizeLookups(BUILT_IN_LIMITS);

/** The `maxOutputTokens` option: output maxima by model name (dated snapshots resolve by prefix). */
export type MaxOutputOverrides = Readonly<Record<string, number>>;

/** The limits of one request's model, as used to hold output and hidden input. */
export interface ResolvedLimits extends ModelLimits {
  reasoning: boolean;
  /** False when neither the table nor an override knows the model (the provider's defaults apply). */
  known: boolean;
}

function tokenCount(value: unknown, parameter: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(parameter, value, 'expected a non-negative integer number of tokens');
  }
  return value;
}

/** Validates the `maxOutputTokens` option; keys are normalized like price keys. */
export function parseMaxOutputOverrides(value: unknown, parameter = 'maxOutputTokens'): Record<string, number> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) throw new InvalidArgumentError(parameter, value, 'expected an object of output maxima by model name');
  const parsed: Record<string, number> = {};
  for (const [model, tokens] of Object.entries(value)) {
    parsed[normalizeModelName(model)] = tokenCount(tokens, `${parameter}[${JSON.stringify(model)}]`);
  }
  return parsed;
}

const NO_OVERRIDES: Readonly<Record<string, number>> = Object.freeze({});

/**
 * Overrides of frozen objects, parsed once: a limiter's own (`callSettings.maxOutputTokens`,
 * frozen, `{}` unless set) reaches every estimate of a wrapped call, and parsing it there, with a
 * lookup of the model in it (a lower-cased name and three regular expressions), ran twice per call.
 * A frozen object cannot change; one the caller may still change is parsed on every call.
 */
const parsedFrozen = new WeakMap<object, Readonly<Record<string, number>>>();

function parsedOverrides(overrides: MaxOutputOverrides): Readonly<Record<string, number>> {
  if (!Object.isFrozen(overrides)) return parseMaxOutputOverrides(overrides);
  let parsed = parsedFrozen.get(overrides);
  if (parsed === undefined) {
    const fresh = parseMaxOutputOverrides(overrides);
    parsed = Object.keys(fresh).length === 0 ? NO_OVERRIDES : fresh;
    if (parsed !== NO_OVERRIDES) memoizeLookups(parsed);
    parsedFrozen.set(overrides, parsed);
  }
  return parsed;
}

/**
 * The limits of `model`: the built-in table (longest prefix), with the output maximum replaced by
 * the longest-prefix override when one matches (an override for `gpt-4o` applies to
 * `gpt-4o-2024-08-06`, not to `gpt-4o-mini`, which has its own entry), else the provider's
 * {@link UNKNOWN_MODEL_LIMITS}.
 */
export function resolveModelLimits(model: string, provider: keyof typeof UNKNOWN_MODEL_LIMITS, overrides?: MaxOutputOverrides): ResolvedLimits {
  const builtInKey = lookupModelKey(model, BUILT_IN_LIMITS);
  // Without overrides (the default) there is nothing to parse or look up on every call.
  const parsed = overrides === undefined ? NO_OVERRIDES : parsedOverrides(overrides);
  const overrideKey = parsed === NO_OVERRIDES ? undefined : lookupModelKey(model, parsed);
  // The more specific of the two names wins, so `gpt-4o-mini`'s own entry beats an override for `gpt-4o`.
  const overrideApplies = overrideKey !== undefined && (builtInKey === undefined || overrideKey.length >= builtInKey.length);
  const table = builtInKey === undefined ? undefined : BUILT_IN_LIMITS[builtInKey];
  const base = table ?? UNKNOWN_MODEL_LIMITS[provider];
  return {
    maxOutput: overrideApplies ? parsed[overrideKey]! : base.maxOutput,
    contextWindow: base.contextWindow,
    reasoning: base.reasoning === true,
    known: table !== undefined || overrideApplies,
  };
}
