import { useId, useState } from 'react';
import { formatMessage } from '../../i18n/format.js';
import { errorText } from '../format.js';
import { Modal } from './modal.js';

export interface ConfirmDialogProps {
  locale: string;
  title: string;
  question: string;
  confirmLabel: string;
  /** Runs the action; the dialog closes when it resolves and shows the error when it rejects. */
  onConfirm: () => Promise<void>;
  onCancel: () => void;
  danger?: boolean;
}

/** "Are you sure?": nothing is sent until Confirm; Cancel and Escape send nothing. */
export function ConfirmDialog({ locale, title, question, confirmLabel, onConfirm, onCancel, danger = false }: ConfirmDialogProps) {
  const questionId = useId();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const confirm = () => {
    setBusy(true);
    setError(undefined);
    onConfirm().catch((e: unknown) => {
      setBusy(false);
      setError(e);
    });
  };
  return (
    <Modal role="alertdialog" title={title} describedBy={questionId} onClose={onCancel}>
      <p id={questionId}>{question}</p>
      {error !== undefined ? (
        <p className="tl-form__error" role="alert">
          {formatMessage(locale, 'admin.action.failed', { message: errorText(locale, error) })}
        </p>
      ) : null}
      <div className="tl-modal__actions">
        <button type="button" className="tl-button" onClick={onCancel}>
          {formatMessage(locale, 'common.cancel')}
        </button>
        <button type="button" className={danger ? 'tl-button tl-button--danger' : 'tl-button tl-button--primary'} onClick={confirm} disabled={busy}>
          {confirmLabel}
        </button>
      </div>
    </Modal>
  );
}
