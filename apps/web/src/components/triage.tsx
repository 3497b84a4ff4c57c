import {
  type AlertStatus,
  AlertStatusSchema,
  type CloseClassification,
  CloseClassificationSchema,
} from '@calseta/schema';
import type { QueryKey } from '@tanstack/react-query';
import { useState } from 'react';
import { usePatch } from '../api/hooks.js';
import { ErrorBanner } from './feedback.js';
import { SelectField } from './form.js';
import { Dialog } from './layout.js';

/** The status of an alert or incident; choosing Closed asks for a classification (`onClose`) instead. */
export function StatusField({
  value,
  onChange,
  onClose,
}: {
  value: AlertStatus;
  onChange(status: AlertStatus): void;
  onClose(): void;
}) {
  return (
    <SelectField
      label="Status"
      value={value}
      options={AlertStatusSchema.options}
      onChange={(status) => (status === 'Closed' ? onClose() : onChange(status))}
    />
  );
}

/** Closing an alert or an incident (PATCH `path`) needs a classification. */
export function CloseDialog({
  open,
  onClose,
  noun,
  path,
  invalidates,
}: {
  open: boolean;
  onClose(): void;
  noun: 'alert' | 'incident';
  path: string;
  invalidates: QueryKey[];
}) {
  const [classification, setClassification] = useState<CloseClassification | ''>('');
  const patch = usePatch<unknown, Record<string, unknown>>(path, invalidates, onClose);
  return (
    <Dialog open={open} onClose={onClose} title={`Close ${noun}`}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (classification) patch.mutate({ status: 'Closed', close_classification: classification });
        }}
      >
        <SelectField
          label="Classification"
          value={classification}
          allowEmpty="Choose a classification…"
          options={CloseClassificationSchema.options}
          onChange={setClassification}
        />
        <ErrorBanner error={patch.error} />
        <button type="submit" className="primary" disabled={!classification || patch.isPending}>
          Close {noun}
        </button>
      </form>
    </Dialog>
  );
}
