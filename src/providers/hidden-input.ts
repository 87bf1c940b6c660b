/**
 * Input the request text does not show: files sent inline (base64 or data URLs), files by id or
 * URL, audio. Each is held by a bound, never a flat guess:
 * - a text-like file (text/*, JSON, XML, YAML, CSV, Markdown, source code) is read as text, so
 *   its decoded UTF-8 bytes bound its tokens (every byte-level BPE token is at least one byte);
 * - a PDF or another binary document is turned into extracted text plus page images whose cost
 *   its byte size does not bound (compressed streams, near-empty pages), and a file by id or URL
 *   has no size at all: these mark the request as holding hidden input, bounded by the model's
 *   context window (see `withHiddenInput`);
 * - audio is held at 10 tokens per second for the lowest common bitrates (8 kbit/s compressed,
 *   8-bit 8 kHz PCM), which bounds the duration a payload of that size can hold.
 */
import type { TokenTally } from './estimate-types.js';

const TEXT_MIME = /^(text\/|application\/(json|ld\+json|xml|x-yaml|yaml|csv|x-ndjson|javascript|typescript|x-python|x-sh|sql|markdown|x-markdown)\b)/i;
const TEXT_EXTENSION = /\.(txt|md|markdown|csv|tsv|json|jsonl|ndjson|xml|ya?ml|html?|css|js|mjs|cjs|ts|tsx|jsx|py|rb|go|rs|java|kt|c|h|cc|cpp|hpp|cs|php|sh|sql|toml|ini|log)$/i;

/** Audio tokens per second (OpenAI documents about 10 for input audio). */
const AUDIO_TOKENS_PER_SECOND = 10;
/** Bytes per second of the lowest bitrates assumed: 8 kbit/s compressed, 8-bit 8 kHz mono PCM. */
const AUDIO_MIN_BYTES_PER_SECOND = { compressed: 1000, pcm: 8000 } as const;

/** The media type and base64 payload of a data URL, or of a bare base64 string. */
export function splitDataUrl(value: string): { mime: string | undefined; base64: string } {
  const match = /^data:([^;,]*)(?:;[^,]*)?,/.exec(value.slice(0, 256));
  return match === null ? { mime: undefined, base64: value } : { mime: match[1] || undefined, base64: value.slice(match[0].length) };
}

/** Bytes that a base64 payload decodes to (whitespace ignored, padding subtracted). */
export function decodedBase64Bytes(base64: string): number {
  let length = base64.length;
  // Trailing whitespace and padding carry no data.
  while (length > 0 && /[\s=]/.test(base64[length - 1]!)) length--;
  return Math.floor((length * 3) / 4);
}

/** True when a file of this media type or name is given to the model as text. */
export function isTextFile(mime: string | undefined, filename: string | undefined): boolean {
  if (mime !== undefined && TEXT_MIME.test(mime)) return true;
  return mime === undefined && filename !== undefined && TEXT_EXTENSION.test(filename);
}

/**
 * Holds an inline file: a text file by its decoded bytes, anything else as hidden input (bounded
 * by the context window). `data` is a data URL or base64.
 */
export function tallyInlineFile(data: string, mime: string | undefined, filename: string | undefined, tally: TokenTally): void {
  const parts = splitDataUrl(data);
  const type = mime ?? parts.mime;
  if (isTextFile(type, filename)) tally.add(decodedBase64Bytes(parts.base64));
  else tally.hide(`a ${type ?? 'binary'} file`);
}

/** Holds inline audio at 10 tokens per second of the longest duration its size allows. */
export function audioTokens(base64: string, format: string | undefined): number {
  const bytes = decodedBase64Bytes(splitDataUrl(base64).base64);
  const pcm = format === 'wav' || format === 'pcm16' || format === 'pcm' || (format?.startsWith('audio/wav') ?? false);
  const seconds = bytes / (pcm ? AUDIO_MIN_BYTES_PER_SECOND.pcm : AUDIO_MIN_BYTES_PER_SECOND.compressed);
  return Math.max(AUDIO_TOKENS_PER_SECOND, Math.ceil(seconds * AUDIO_TOKENS_PER_SECOND));
}
