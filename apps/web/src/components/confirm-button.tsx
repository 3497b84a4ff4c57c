import { type ReactNode, useState } from 'react';
import { Dialog } from './layout.js';

/** A destructive action behind a confirmation dialog. */
export function ConfirmButton({
  label,
  title,
  children,
  onConfirm,
  small,
  disabled,
}: {
  label: string;
  title: string;
  children: ReactNode;
  onConfirm(): void;
  small?: boolean;
  disabled?: boolean;
}) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button
        type="button"
        className={`danger${small ? ' small' : ''}`}
        disabled={disabled}
        onClick={() => setOpen(true)}
      >
        {label}
      </button>
      <Dialog open={open} onClose={() => setOpen(false)} title={title}>
        <div className="stack">
          <div>{children}</div>
          <div className="actions">
            <button type="button" onClick={() => setOpen(false)}>
              Cancel
            </button>
            <button
              type="button"
              className="danger"
              onClick={() => {
                setOpen(false);
                onConfirm();
              }}
            >
              {label}
            </button>
          </div>
        </div>
      </Dialog>
    </>
  );
}
