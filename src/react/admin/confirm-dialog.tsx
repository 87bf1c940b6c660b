import { useId } from 'react';
import { formatMessage } from '../../i18n/format.js';
import { Modal } from './modal.js';
import { ActionError, busyButton, usePendingAction } from './pending-action.js';

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

/**
 * "Are you sure?": nothing is sent until Confirm; Cancel and Escape send nothing. Once confirmed,
 * neither closes the dialog until the action settles (it closes, or shows why it failed).
 */
export function ConfirmDialog({ locale, title, question, confirmLabel, onConfirm, onCancel, danger = false }: ConfirmDialogProps) {
  const questionId = useId();
  const { busy, error, run } = usePendingAction();
  return (
    <Modal role="alertdialog" title={title} describedBy={questionId} onClose={onCancel} busy={busy}>
      <p id={questionId}>{question}</p>
      <ActionError locale={locale} error={error} />
      <div className="tl-modal__actions">
        {/* Once confirmed, the action is sent: Cancel could no longer take it back. */}
        <button type="button" className="tl-button" {...busyButton(busy, onCancel)}>
          {formatMessage(locale, 'common.cancel')}
        </button>
        <button type="button" className={danger ? 'tl-button tl-button--danger' : 'tl-button tl-button--primary'} {...busyButton(busy, () => run(onConfirm))}>
          {confirmLabel}
        </button>
      </div>
    </Modal>
  );
}
