import { javascript } from '@codemirror/lang-javascript';
import { markdown } from '@codemirror/lang-markdown';
import CodeMirror from '@uiw/react-codemirror';
import { useMemo } from 'react';

const LANGUAGES = {
  javascript: () => javascript(),
  // JSON is valid JavaScript for highlighting purposes; one grammar less in the bundle.
  json: () => javascript(),
  markdown: () => markdown(),
};

/** CodeMirror with syntax highlighting; the label is the editor's accessible name. */
export function CodeEditor({
  label,
  value,
  onChange,
  language,
  minHeight = '240px',
  readOnly,
}: {
  label: string;
  value: string;
  onChange?(value: string): void;
  language: keyof typeof LANGUAGES;
  minHeight?: string;
  readOnly?: boolean;
}) {
  const extensions = useMemo(() => [LANGUAGES[language]()], [language]);
  const theme = useMemo(
    () =>
      typeof window !== 'undefined' && window.matchMedia?.('(prefers-color-scheme: light)').matches ? 'light' : 'dark',
    [],
  );
  return (
    <div className="code-editor">
      <CodeMirror
        value={value}
        onChange={onChange}
        extensions={extensions}
        theme={theme}
        minHeight={minHeight}
        maxHeight="70vh"
        readOnly={readOnly ?? !onChange}
        aria-label={label}
        basicSetup={{ foldGutter: false, highlightActiveLine: !readOnly }}
      />
    </div>
  );
}
