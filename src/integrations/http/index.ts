/**
 * `token-limits/http`: the web integration for the Fetch API (`Request` -> `Response`: Hono, Next.js
 * route handlers, Bun, Deno) and plain `node:http` servers: request-scoped users, error mapping
 * (429/403/503), the admin HTTP API, the alert webhook and the message catalogue. No framework is
 * imported.
 */
export { tokenLimitsHandler, type TokenLimitsHandlerOptions } from './fetch-handler.js';
export { errorToResponse, type ErrorToResponseOptions } from './error-to-response.js';
export { toNodeListener, toRequest, sendResponse, tokenLimitsListener, type TokenLimitsListenerOptions } from './node.js';
export { createAdminHandler } from './admin/handler.js';
export { encodeUserIdSegment } from '../../kernel/admin-path.js';
export type { AdminHandlerOptions, AdminPrincipal, AuthorizeResult } from './admin/core.js';
export type {
  LimitRuleJson,
  UserUsageJson,
  WindowUsageJson,
  UsageRecordJson,
  HistoryPointJson,
  UsageStatsJson,
  AccountUsageJson,
  PlanJson,
} from './admin/serialize.js';
export type { UserIdResult, UserScopeOptions } from '../shared/scope.js';
export type { LocaleOption } from '../shared/locale.js';
export * from '../webhook/index.js';
export * from '../../i18n/index.js';
