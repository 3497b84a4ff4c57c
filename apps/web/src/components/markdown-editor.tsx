import { useState } from 'react';
import { CodeEditor } from './code-editor.js';
import { Markdown } from './markdown.js';

/** Markdown source beside its preview (stacked on narrow screens); "Preview only" for reading. */
export function MarkdownEditor({
  label,
  value,
  onChange,
}: {
  label: string;
  value: string;
  onChange(value: string): void;
}) {
  const [mode, setMode] = useState<'split' | 'edit' | 'preview'>('split');
  return (
    <div className="md-editor">
      <fieldset className="toolbar plain" aria-label={`${label} view`}>
        {(['split', 'edit', 'preview'] as const).map((m) => (
          <button
            key={m}
            type="button"
            className={mode === m ? 'active small' : 'small'}
            aria-pressed={mode === m}
            onClick={() => setMode(m)}
          >
            {m === 'split' ? 'Split' : m === 'edit' ? 'Edit' : 'Preview'}
          </button>
        ))}
      </fieldset>
      <div className={`md-panes ${mode}`}>
        {mode !== 'preview' && (
          <CodeEditor label={label} language="markdown" value={value} onChange={onChange} minHeight="320px" />
        )}
        {mode !== 'edit' && (
          <section className="md-preview" aria-label={`${label} preview`}>
            <Markdown>{value}</Markdown>
          </section>
        )}
      </div>
    </div>
  );
}
