import { useId } from 'react';
import { formatMessage } from '../../i18n/format.js';
import { Modal } from './modal.js';
import { ActionError, usePendingAction } from './pending-action.js';

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
  const { busy, error, run } = usePendingAction();
  return (
    <Modal role="alertdialog" title={title} describedBy={questionId} onClose={onCancel}>
      <p id={questionId}>{question}</p>
      <ActionError locale={locale} error={error} />
      <div className="tl-modal__actions">
        <button type="button" className="tl-button" onClick={onCancel}>
          {formatMessage(locale, 'common.cancel')}
        </button>
        <button type="button" className={danger ? 'tl-button tl-button--danger' : 'tl-button tl-button--primary'} onClick={() => run(onConfirm)} disabled={busy}>
          {confirmLabel}
        </button>
      </div>
    </Modal>
  );
}
