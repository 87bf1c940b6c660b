/**
 * `token-limits/testing`: a local emulator of the OpenAI, Anthropic and Gemini HTTP APIs for
 * driving the real SDKs in tests, and a fake clock.
 */

export { startEmulator } from './emulator/server.js';
export { expectedUsage, type UsageQuery } from './emulator/routes.js';
export { rawJson, type RawJson } from './emulator/json.js';
export { countTokens as emulatorTokenCount } from './emulator/content.js';
export { createFakeClock, type FakeClock } from './fake-clock.js';
export type {
  AnthropicEndpoint,
  BehaviorMatch,
  Emulator,
  EmulatorBehavior,
  EmulatorEndpoint,
  EmulatorOptions,
  EmulatorProvider,
  EmulatorUsage,
  EnqueueOptions,
  GoogleEndpoint,
  MidStreamError,
  OpenAIEndpoint,
  RecordedReply,
  RecordedRequest,
  ReplyOutcome,
  UsageOverride,
  UsageOverrideValue,
} from './emulator/types.js';
