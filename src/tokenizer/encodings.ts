/** Which encoding an OpenAI model uses. */
import type { EncodingName } from './types.js';

const CL100K_PREFIXES = ['gpt-4-', 'gpt-3.5', 'gpt-35', 'text-embedding-'];
const O200K_PREFIXES = ['gpt-4o', 'chatgpt-4o', 'gpt-4.1', 'gpt-4.5', 'gpt-5', 'o1', 'o3', 'o4', 'gpt-oss', 'codex-', 'computer-use'];

/**
 * The encoding of an OpenAI model: `o200k_base` for gpt-4o*, chatgpt-4o*, gpt-4.1*, gpt-4.5*,
 * gpt-5*, o1*, o3*, o4*, gpt-oss* (whose `o200k_harmony` differs from `o200k_base` only in special
 * tokens); `cl100k_base` for gpt-4 and gpt-4-turbo (not gpt-4o), gpt-3.5*, text-embedding-*;
 * `p50k_base` for text-davinci-002/003 and code-davinci/cushman; `r50k_base` for the GPT-3 base
 * models (davinci, curie, babbage, ada). Unknown models get `o200k_base`, the encoding of every
 * OpenAI model since 2024. A `provider/` or `models/` prefix is ignored; case-insensitive.
 */
export function encodingForModel(model: string): EncodingName {
  const name = model.trim().toLowerCase().replace(/^.*\//, '');
  if (O200K_PREFIXES.some((p) => name.startsWith(p))) return 'o200k_base';
  if (name === 'gpt-4' || CL100K_PREFIXES.some((p) => name.startsWith(p))) return 'cl100k_base';
  if (name.startsWith('text-davinci-00') || name.startsWith('code-')) return name === 'text-davinci-001' ? 'r50k_base' : 'p50k_base';
  if (/^(davinci|curie|babbage|ada)(-00[12])?$/.test(name)) return name.endsWith('-002') ? 'cl100k_base' : 'r50k_base';
  if (name.startsWith('text-') && /-(ada|babbage|curie|davinci)-001$/.test(name)) return 'r50k_base';
  return 'o200k_base';
}
