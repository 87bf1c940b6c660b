import { formatMessage } from '../i18n/format.js';
import { errorText } from './format.js';

/** The loading placeholder (announced politely, `aria-busy` on the component). */
export function LoadingView({ locale }: { locale: string }) {
  return (
    <p className="tl-loading" role="status">
      {formatMessage(locale, 'common.loading')}
    </p>
  );
}

/**
 * A failed load: what failed and a retry button. `stale` when older figures are still shown
 * (a failed refresh), so the message says they may be out of date.
 */
export function ErrorView({ locale, error, onRetry, stale = false }: { locale: string; error: unknown; onRetry: () => void; stale?: boolean }) {
  return (
    <div className={stale ? 'tl-error tl-error--stale' : 'tl-error'} role="alert">
      <p className="tl-error__title">{formatMessage(locale, stale ? 'common.refreshError' : 'common.loadError')}</p>
      <p className="tl-error__detail">{errorText(locale, error)}</p>
      <button type="button" className="tl-button" onClick={onRetry}>
        {formatMessage(locale, 'common.retry')}
      </button>
    </div>
  );
}

/** A table's only row when it has none to show: `text` across all `columns`. */
export function EmptyRow({ columns, text }: { columns: number; text: string }) {
  return (
    <tr>
      <td colSpan={columns} className="tl-table__empty">
        {text}
      </td>
    </tr>
  );
}
