export { en, ptBR, locales, messages, type Locale, type MessageKey, type Messages } from './messages.js';
export {
  formatMessage,
  formatNumber,
  formatCurrency,
  formatDate,
  formatPlural,
  formatPercent,
  resolveLocale,
  parseLocale,
  negotiateLocale,
  type FormatOptions,
  type MessageParam,
  type MessageParams,
  type PluralBase,
} from './format.js';
