import { useState } from 'react';
import { usePatch } from '../api/hooks.js';
import type { Resource } from '../api/queries/resource.js';
import { SaveStatus } from './feedback.js';
import type { TabDef } from './layout.js';
import { MarkdownEditor } from './markdown-editor.js';

interface MarkdownFieldProps {
  resource: Pick<Resource<unknown>, 'path' | 'changed'>;
  uuid: string;
  field: string;
  label: string;
  initial: string | null;
  saveLabel?: string;
  required?: boolean;
}

/**
 * One markdown field of an item (its documentation, a document's content), saved on its own with a
 * PATCH of that field; an emptied optional field is saved as null.
 */
export function MarkdownField({
  resource,
  uuid,
  field,
  label,
  initial,
  saveLabel = 'Save documentation',
  required = false,
}: MarkdownFieldProps) {
  const [value, setValue] = useState(initial ?? '');
  const patch = usePatch<unknown, Record<string, string | null>>(resource.path(uuid), resource.changed(uuid));
  return (
    <div className="stack">
      <MarkdownEditor label={label} value={value} onChange={setValue} />
      <SaveStatus mutation={patch} />
      <div className="actions">
        <button
          type="button"
          className="primary"
          disabled={value === (initial ?? '') || (required && !value) || patch.isPending}
          onClick={() => patch.mutate({ [field]: value || null })}
        >
          {saveLabel}
        </button>
      </div>
    </div>
  );
}

/** The Documentation tab of an item; a save reloads the item, which starts the editor afresh. */
export function documentationTab(
  id: string,
  resource: MarkdownFieldProps['resource'],
  item: { uuid: string; updated_at: string; documentation: string | null },
  label: string,
): TabDef {
  return {
    id,
    label: 'Documentation',
    render: () => (
      <MarkdownField
        key={item.updated_at}
        resource={resource}
        uuid={item.uuid}
        field="documentation"
        label={label}
        initial={item.documentation}
      />
    ),
  };
}
