import type { Dispatch, SetStateAction } from 'react';
import { formatMessage } from '../../i18n/format.js';

export interface PagerProps {
  locale: string;
  /** What is paged (the nav's accessible name). */
  label: string;
  /** The cursors of the pages seen so far, the current one last (`undefined`: the first page). */
  cursors: Array<string | undefined>;
  setCursors: Dispatch<SetStateAction<Array<string | undefined>>>;
  /** The current page's cursor to the next one, `null` on the last page. */
  nextCursor: string | null | undefined;
  loading: boolean;
}

/**
 * Previous / page n / next over cursor-paged lists (users, a team's members, the teams). A button
 * with nowhere to go is `aria-disabled`, not `disabled`: Next is pressed, its page loads (or is
 * the last), and a focused button that became disabled would drop the focus to the page's body,
 * sending a keyboard user back to the top of the page after each page.
 */
export function Pager({ locale, label, cursors, setCursors, nextCursor, loading }: PagerProps) {
  const noPrevious = cursors.length <= 1;
  const noNext = nextCursor === null || nextCursor === undefined || loading;
  return (
    <nav className="tl-pager" aria-label={label}>
      <button
        type="button"
        className="tl-button"
        aria-disabled={noPrevious}
        onClick={() => {
          if (!noPrevious) setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c));
        }}
      >
        {formatMessage(locale, 'admin.page.previous')}
      </button>
      <span className="tl-pager__page" aria-live="polite">
        {formatMessage(locale, 'admin.page', { page: cursors.length })}
      </span>
      <button
        type="button"
        className="tl-button"
        aria-disabled={noNext}
        onClick={() => {
          if (!noNext && nextCursor) setCursors((c) => [...c, nextCursor]);
        }}
      >
        {formatMessage(locale, 'admin.page.next')}
      </button>
    </nav>
  );
}
