/**
 * `token-limits/react`: React widgets over the admin HTTP API (`createAdminRouter` /
 * `createAdminHandler`). React 18 or 19; no CSS framework: plain `tl-*` class names, an optional
 * default stylesheet (`import 'token-limits/react/styles.css'`) themed with CSS variables.
 */
export { TokenWidget, type TokenWidgetProps } from './token-widget.js';
export { TokenDashboard, type TokenDashboardProps } from './token-dashboard.js';
export { AdminTokenPanel, type AdminTokenPanelProps } from './admin-token-panel.js';
export type { TokenLimitsComponentProps } from './props.js';
export {
  createApiClient,
  TokenLimitsApiError,
  type ApiClient,
  type ApiClientOptions,
  type Fetcher,
  type HistoryJson,
  type HistoryQuery,
  type UsersPageJson,
  type AccountsPageJson,
  type MembersPageJson,
  type AccountLimitsJson,
  type PageQuery,
  type AccountUsageJson,
  type PlanJson,
  type WindowUsageJson,
  type HistoryPointJson,
  type LimitRuleJson,
  type UsageRecordJson,
  type UsageStatsJson,
  type UserUsageJson,
} from './api.js';
export type { Metric } from './format.js';
export type { Locale } from '../i18n/messages.js';
