/**
 * Server-sent-event framing, one function per provider dialect (see sdk-facts §7):
 * - OpenAI Chat/Completions: `data: <json>\n\n`, never an `event:` line, ended by `data: [DONE]`.
 * - OpenAI Responses and Anthropic: `event: <type>\ndata: <json>\n\n` (Anthropic drops records
 *   without `event:`).
 * - Gemini: exactly `data: <one-line json>\r\n\r\n`; no `event:`, comments or `[DONE]`.
 */

import { toJson } from './json.js';

/** An OpenAI chat/completions record. */
export function dataRecord(payload: unknown): string {
  return `data: ${toJson(payload)}\n\n`;
}

/** The OpenAI chat/completions terminator. */
export const DONE_RECORD = 'data: [DONE]\n\n';

/** A record with an `event:` line (OpenAI Responses, Anthropic). */
export function eventRecord(event: string, payload: unknown): string {
  return `event: ${event}\ndata: ${toJson(payload)}\n\n`;
}

/** A Gemini `alt=sse` record. */
export function geminiRecord(payload: unknown): string {
  return `data: ${toJson(payload)}\r\n\r\n`;
}
