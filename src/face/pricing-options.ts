import { InvalidArgumentError } from '../kernel/errors.js';
import { isPlainObject, rejectUnknownKeys } from '../kernel/validate.js';
import { createPriceTable, type PriceTable } from '../providers/pricing/resolve.js';
import type { ModelPrice, PriceOverride } from '../providers/pricing/types.js';

export type { ModelPrice, PriceOverride };

/** The `pricing` option: US dollars per million tokens. */
export interface PricingOptions {
  /**
   * Per-model prices over the built-in table; a name also prices its dated snapshots
   * (`gpt-4o` prices `gpt-4o-2024-08-06`, never `gpt-4o-mini`).
   */
  models?: Record<string, PriceOverride>;
  /** Price for models found nowhere; without it a cost rule refuses calls to unknown models. */
  fallback?: PriceOverride;
}

/** Validates the `pricing` option into a price table (built-in prices, overrides, fallback). */
export function parsePricing(value: unknown): PriceTable {
  if (value === undefined) return createPriceTable();
  if (!isPlainObject(value)) throw new InvalidArgumentError('options.pricing', value, 'expected { models?, fallback? }');
  rejectUnknownKeys(value, ['models', 'fallback'], 'options.pricing');
  if (value.models !== undefined && !isPlainObject(value.models)) {
    throw new InvalidArgumentError('options.pricing.models', value.models, 'expected an object of prices by model name');
  }
  try {
    return createPriceTable({
      ...(value.models === undefined ? {} : { overrides: value.models as Record<string, PriceOverride> }),
      ...(value.fallback === undefined ? {} : { fallback: value.fallback as PriceOverride }),
    });
  } catch (error) {
    // Name the parameter the way the options are written.
    if (error instanceof InvalidArgumentError) {
      const parameter = error.parameter
        .replace(/^pricing\[("(?:[^"\\]|\\.)*")\]/, (_, name: string) => `options.pricing.models.${JSON.parse(name) as string}`)
        .replace(/^fallbackPrice/, 'options.pricing.fallback');
      throw new InvalidArgumentError(parameter, error.value, error.message.replace(/^Invalid [^:]+: /, '').replace(/ \(got .*\)$/, ''));
    }
    throw error;
  }
}
