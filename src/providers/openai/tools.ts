/**
 * Tokens of function/tool definitions, after the OpenAI cookbook "How to count tokens with
 * tiktoken" (section "Counting tokens for chat completions with tool calls"): per function
 * `func_init` + tokens of `name:description`; when it has properties, `prop_init`, and per property
 * `prop_key` + tokens of `name:type:description` (+ `enum_init`, and per item `enum_item` + its
 * tokens); `func_end` once after all functions. Trailing "." of descriptions are stripped. The
 * cookbook gives func_init 7 for the gpt-4o family and 10 for gpt-4/gpt-3.5; we use 7 for every
 * o200k model and 10 for cl100k ones. Extensions (not in the cookbook, approximate): nested schema
 * keywords of a property (`items`, `properties`, `format`...) add the tokens of their JSON; tools that
 * are not functions add the tokens of their JSON definition.
 */
import type { EncodingName } from '../../tokenizer/types.js';
import { asRecord, type TokenTally } from '../estimate-types.js';

/** The cookbook constants. */
export const TOOL_TOKENS = { funcInitO200k: 7, funcInitCl100k: 10, propInit: 3, propKey: 3, enumInit: -3, enumItem: 3, funcEnd: 12 } as const;

/** A function definition in either API shape: `{ name, description, parameters }`. */
interface FunctionDefinition {
  name?: unknown;
  description?: unknown;
  parameters?: unknown;
}

function stripPeriod(text: string): string {
  return text.endsWith('.') ? text.slice(0, -1) : text;
}

function typeName(type: unknown): string {
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) return type.map(String).join('|');
  return type === undefined ? '' : JSON.stringify(type);
}

/**
 * Adds the tokens of function definitions to `tally`: the cookbook formula. `definitions` are
 * `{ name, description, parameters }` objects; returns the number counted (0: nothing added).
 */
export function tallyFunctionDefinitions(definitions: readonly FunctionDefinition[], encoding: EncodingName, tally: TokenTally): number {
  if (definitions.length === 0) return 0;
  for (const fn of definitions) {
    tally.add(encoding === 'o200k_base' ? TOOL_TOKENS.funcInitO200k : TOOL_TOKENS.funcInitCl100k);
    const name = typeof fn.name === 'string' ? fn.name : '';
    const description = typeof fn.description === 'string' ? fn.description : '';
    tally.text(`${name}:${stripPeriod(description)}`);
    const properties = asRecord(asRecord(fn.parameters)?.['properties']);
    const keys = properties === undefined ? [] : Object.keys(properties);
    if (keys.length === 0) continue;
    tally.add(TOOL_TOKENS.propInit);
    for (const key of keys) {
      tally.add(TOOL_TOKENS.propKey);
      const property = asRecord(properties![key]) ?? {};
      const { type, description: propertyDescription, enum: enumValues, ...rest } = property;
      if (Array.isArray(enumValues)) {
        tally.add(TOOL_TOKENS.enumInit);
        for (const item of enumValues) {
          tally.add(TOOL_TOKENS.enumItem);
          tally.text(typeof item === 'string' ? item : JSON.stringify(item));
        }
      }
      const desc = typeof propertyDescription === 'string' ? stripPeriod(propertyDescription) : '';
      tally.text(`${key}:${typeName(type)}:${desc}`);
      if (Object.keys(rest).length > 0) tally.text(JSON.stringify(rest));
    }
  }
  tally.add(TOOL_TOKENS.funcEnd);
  return definitions.length;
}

/**
 * Adds the tokens of a `tools` array (Chat Completions `{ type: 'function', function }` or custom
 * tools; Responses API flat `{ type: 'function', name, ... }` or built-in tools) and of the legacy
 * `functions` array.
 */
export function tallyTools(tools: unknown, functions: unknown, encoding: EncodingName, tally: TokenTally): void {
  const definitions: FunctionDefinition[] = [];
  if (Array.isArray(functions)) for (const fn of functions) definitions.push(asRecord(fn) ?? {});
  if (Array.isArray(tools)) {
    for (const raw of tools) {
      const tool = asRecord(raw);
      if (tool === undefined) continue;
      const nested = asRecord(tool['function']);
      if (tool['type'] === 'function' && nested !== undefined) definitions.push(nested);
      else if (tool['type'] === 'function') definitions.push(tool);
      else tally.text(JSON.stringify(tool)); // custom and built-in tools: their JSON, approximately
    }
  }
  tallyFunctionDefinitions(definitions, encoding, tally);
}
