/**
 * A deterministic value that satisfies a JSON schema: used for structured outputs and tool-call
 * arguments. Handles objects (every listed property is filled), arrays (`minItems`, at least one
 * item), enums, `const`, `anyOf`/`oneOf`/`allOf` (first usable branch), type unions, `$ref` into
 * `$defs`/`definitions`, numeric bounds, string lengths and the common string formats. Gemini
 * schemas (upper-case `type` such as `"OBJECT"`) are accepted too.
 */

type Schema = Record<string, unknown>;

const MAX_DEPTH = 12;

/** A value satisfying `schema` (`{}` for a missing or unusable schema). */
export function sampleFromSchema(schema: unknown): unknown {
  if (!isSchema(schema)) return {};
  return sample(schema, schema, 0, 'value');
}

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function resolveRef(root: Schema, ref: string): Schema | undefined {
  if (!ref.startsWith('#')) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(1).split('/').filter((p) => p.length > 0)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isSchema(node)) return undefined;
    node = node[key];
  }
  return isSchema(node) ? node : undefined;
}

function typesOf(schema: Schema): string[] {
  const type = schema['type'];
  if (typeof type === 'string') return [type.toLowerCase()];
  if (Array.isArray(type)) return type.filter((t): t is string => typeof t === 'string').map((t) => t.toLowerCase());
  if (isSchema(schema['properties'])) return ['object'];
  if (schema['items'] !== undefined) return ['array'];
  return [];
}

function sample(schema: Schema, root: Schema, depth: number, name: string): unknown {
  if (depth > MAX_DEPTH) return null;
  if (typeof schema['$ref'] === 'string') {
    const target = resolveRef(root, schema['$ref']);
    return target === undefined ? null : sample(target, root, depth + 1, name);
  }
  if ('const' in schema) return schema['const'];
  if (Array.isArray(schema['enum']) && schema['enum'].length > 0) return schema['enum'][0];
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = schema[key];
    if (Array.isArray(branches)) {
      const usable = branches.filter(isSchema);
      const preferred = usable.find((b) => !typesOf(b).includes('null') || typesOf(b).length > 1) ?? usable[0];
      if (preferred !== undefined) return sample(preferred, root, depth + 1, name);
    }
  }
  if (Array.isArray(schema['allOf'])) {
    const merged: Schema = {};
    const properties: Schema = {};
    for (const part of schema['allOf']) {
      if (!isSchema(part)) continue;
      Object.assign(merged, part);
      if (isSchema(part['properties'])) Object.assign(properties, part['properties']);
    }
    delete merged['allOf'];
    if (Object.keys(properties).length > 0) merged['properties'] = properties;
    return sample({ ...schema, ...merged, allOf: undefined }, root, depth + 1, name);
  }
  const types = typesOf(schema);
  const type = types.find((t) => t !== 'null') ?? types[0];
  switch (type) {
    case 'object':
      return sampleObject(schema, root, depth);
    case 'array':
      return sampleArray(schema, root, depth, name);
    case 'string':
      return sampleString(schema, name);
    case 'integer':
      return sampleNumber(schema, true);
    case 'number':
      return sampleNumber(schema, false);
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return isSchema(schema['properties']) ? sampleObject(schema, root, depth) : 'example';
  }
}

function sampleObject(schema: Schema, root: Schema, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const properties = isSchema(schema['properties']) ? schema['properties'] : {};
  const required = Array.isArray(schema['required']) ? schema['required'].filter((r): r is string => typeof r === 'string') : [];
  const order = Array.isArray(schema['propertyOrdering'])
    ? schema['propertyOrdering'].filter((r): r is string => typeof r === 'string')
    : Object.keys(properties);
  const names = [...new Set([...order, ...Object.keys(properties), ...required])];
  for (const key of names) {
    const child = properties[key];
    out[key] = isSchema(child) ? sample(child, root, depth + 1, key) : 'example';
  }
  return out;
}

function sampleArray(schema: Schema, root: Schema, depth: number, name: string): unknown[] {
  const minItems = typeof schema['minItems'] === 'number' ? schema['minItems'] : typeof schema['minItems'] === 'string' ? Number(schema['minItems']) : 1;
  const count = Math.max(1, Number.isFinite(minItems) ? Math.min(minItems, 64) : 1);
  const maxItems = typeof schema['maxItems'] === 'number' ? schema['maxItems'] : Infinity;
  const length = Math.min(count, maxItems);
  const prefix = Array.isArray(schema['prefixItems']) ? schema['prefixItems'].filter(isSchema) : [];
  const items = isSchema(schema['items']) ? schema['items'] : undefined;
  const out: unknown[] = [];
  for (let i = 0; i < Math.max(length, prefix.length); i++) {
    const itemSchema = prefix[i] ?? items;
    out.push(itemSchema === undefined ? 'example' : sample(itemSchema, root, depth + 1, name));
  }
  return out;
}

function sampleString(schema: Schema, name: string): string {
  switch (schema['format']) {
    case 'date-time':
      return '2025-01-01T00:00:00Z';
    case 'date':
      return '2025-01-01';
    case 'time':
      return '00:00:00';
    case 'email':
      return 'user@example.com';
    case 'uri':
    case 'url':
      return 'https://example.com';
    case 'uuid':
      return '00000000-0000-4000-8000-000000000000';
    default:
      break;
  }
  let text = `example ${name}`;
  const min = typeof schema['minLength'] === 'number' ? schema['minLength'] : 0;
  const max = typeof schema['maxLength'] === 'number' ? schema['maxLength'] : Infinity;
  while (text.length < min) text += 'x';
  if (text.length > max) text = text.slice(0, Math.max(0, max));
  return text;
}

function sampleNumber(schema: Schema, integer: boolean): number {
  const num = (key: string): number | undefined => (typeof schema[key] === 'number' ? schema[key] : undefined);
  let value = integer ? 1 : 1.5;
  const min = num('minimum');
  const exclusiveMin = num('exclusiveMinimum');
  const max = num('maximum');
  const exclusiveMax = num('exclusiveMaximum');
  if (min !== undefined && value < min) value = integer ? Math.ceil(min) : min;
  if (exclusiveMin !== undefined && value <= exclusiveMin) value = integer ? Math.floor(exclusiveMin) + 1 : exclusiveMin + 1;
  if (max !== undefined && value > max) value = integer ? Math.floor(max) : max;
  if (exclusiveMax !== undefined && value >= exclusiveMax) value = integer ? Math.ceil(exclusiveMax) - 1 : exclusiveMax - 0.5;
  return value;
}
