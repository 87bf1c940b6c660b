import { useEffect, useId, useRef, type KeyboardEvent, type ReactNode } from 'react';

export interface ModalProps {
  /** `alertdialog` for confirmations, `dialog` for forms. */
  role: 'dialog' | 'alertdialog';
  title: string;
  /** Id of the element that describes the dialog (an alertdialog's question). */
  describedBy?: string | undefined;
  onClose: () => void;
  children: ReactNode;
  className?: string | undefined;
  /**
   * An action sent from the dialog is in flight: Escape does not close it, since a dialog that
   * closes reads as cancelled while the server goes on to apply the action.
   */
  busy?: boolean | undefined;
}

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * A modal dialog: labelled by its title, focus moved into it on open (its first field, else its
 * first button) and back to where it was on close, Tab kept inside, Escape closes (not while
 * `busy`). Without the
 * stylesheet it renders in place, still usable.
 */
export function Modal({ role, title, describedBy, onClose, children, className, busy = false }: ModalProps) {
  const titleId = useId();
  const ref = useRef<HTMLDivElement>(null);
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;

  useEffect(() => {
    const previous = typeof document === 'undefined' ? null : (document.activeElement as HTMLElement | null);
    const root = ref.current;
    const first = root?.querySelector<HTMLElement>('input, select, textarea') ?? root?.querySelector<HTMLElement>(FOCUSABLE);
    first?.focus();
    return () => {
      if (previous && typeof previous.focus === 'function' && previous.isConnected) previous.focus();
    };
  }, []);

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    if (event.key === 'Escape') {
      event.stopPropagation();
      if (!busy) onCloseRef.current();
      return;
    }
    if (event.key !== 'Tab' || !ref.current) return;
    const items = [...ref.current.querySelectorAll<HTMLElement>(FOCUSABLE)];
    const firstItem = items[0];
    const lastItem = items.at(-1);
    if (!firstItem || !lastItem) return;
    if (event.shiftKey && document.activeElement === firstItem) {
      event.preventDefault();
      lastItem.focus();
    } else if (!event.shiftKey && document.activeElement === lastItem) {
      event.preventDefault();
      firstItem.focus();
    }
  };

  return (
    <div className="tl-modal">
      <div
        ref={ref}
        className={className ? `tl-modal__dialog ${className}` : 'tl-modal__dialog'}
        role={role}
        aria-modal="true"
        aria-labelledby={titleId}
        aria-describedby={describedBy}
        onKeyDown={onKeyDown}
      >
        <h3 id={titleId} className="tl-modal__title">
          {title}
        </h3>
        {children}
      </div>
    </div>
  );
}
