import { useState } from 'react';
import { formatMessage } from '../../i18n/format.js';
import { errorText } from '../format.js';

/**
 * An admin dialog's action in flight: `busy` from `run()` until the action settles, and its error
 * when it rejects (busy again false, so the user can retry). A resolved action leaves `busy` set:
 * its dialog closes.
 */
export function usePendingAction(): { busy: boolean; error: unknown; run: (action: () => Promise<void>) => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const run = (action: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    action().catch((e: unknown) => {
      setBusy(false);
      setError(e);
    });
  };
  return { busy, error, run };
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
