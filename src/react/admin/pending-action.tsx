import { useRef, useState } from 'react';
import { formatMessage } from '../../i18n/format.js';
import { errorText } from '../format.js';

/**
 * An admin dialog's action in flight: `busy` from `run()` until the action settles, and its error
 * when it rejects (busy again false, so the user can retry). A resolved action leaves `busy` set:
 * its dialog closes. `run()` while busy does nothing, so the dialog's buttons need not be
 * `disabled` (see `busyButton`).
 */
export function usePendingAction(): { busy: boolean; error: unknown; run: (action: () => Promise<void>) => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  // Read synchronously: a double click runs before the re-render that shows `busy`.
  const running = useRef(false);
  const run = (action: () => Promise<void>) => {
    if (running.current) return;
    running.current = true;
    setBusy(true);
    setError(undefined);
    action().catch((e: unknown) => {
      running.current = false;
      setBusy(false);
      setError(e);
    });
  };
  return { busy, error, run };
}

/**
 * Props of a dialog button that does nothing while its action is in flight: `aria-disabled`, not
 * `disabled`. A focused button that becomes disabled drops the focus to the page's body, so a
 * keyboard user left the dialog (Escape and Tab no longer reached it) while the action ran and
 * after it failed.
 */
export function busyButton(busy: boolean, onClick: () => void): { 'aria-disabled': boolean; onClick: (event: { preventDefault(): void }) => void } {
  return {
    'aria-disabled': busy,
    onClick: (event) => {
      if (busy) event.preventDefault();
      else onClick();
    },
  };
}

/** "The action failed: <why>", announced, when there is an error. */
export function ActionError({ locale, error }: { locale: string; error: unknown }) {
  if (error === undefined) return null;
  return (
    <p className="tl-form__error" role="alert">
      {formatMessage(locale, 'admin.action.failed', { message: errorText(locale, error) })}
    </p>
  );
}
