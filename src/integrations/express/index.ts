/**
 * `token-limits/express`: request-scoped users, error mapping (429/403/503) and the admin API for
 * Express 4 and 5. Express itself is never imported at run time (only its types).
 */
export {
  tokenLimits,
  tokenLimitsErrorHandler,
  type TokenLimitsOptions,
  type TokenLimitsErrorHandlerOptions,
} from './middleware.js';
export { createAdminRouter } from './admin-router.js';
export type { AdminHandlerOptions, AdminPrincipal, AuthorizeResult } from '../http/admin/core.js';
export type { UserIdResult } from '../shared/scope.js';
export type { LocaleOption } from '../shared/locale.js';
