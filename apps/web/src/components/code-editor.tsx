import { javascript } from '@codemirror/lang-javascript';
import { markdown } from '@codemirror/lang-markdown';
import CodeMirror, { EditorView } from '@uiw/react-codemirror';
import { useMemo, useSyncExternalStore } from 'react';

const LANGUAGES = {
  javascript: () => javascript(),
  // JSON is valid JavaScript for highlighting purposes; one grammar less in the bundle.
  json: () => javascript(),
  markdown: () => markdown(),
};

const LIGHT = '(prefers-color-scheme: light)';
const scheme = () => (typeof window !== 'undefined' && window.matchMedia?.(LIGHT).matches ? 'light' : 'dark');
/** The editor follows the OS theme as the rest of the page does, also when it changes. */
function subscribeScheme(onChange: () => void): () => void {
  const query = typeof window === 'undefined' ? undefined : window.matchMedia?.(LIGHT);
  query?.addEventListener('change', onChange);
  return () => query?.removeEventListener('change', onChange);
}

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
  // The accessible name goes on the editable element (role textbox), not on the wrapper.
  const extensions = useMemo(
    () => [LANGUAGES[language](), EditorView.contentAttributes.of({ 'aria-label': label })],
    [language, label],
  );
  const theme = useSyncExternalStore(subscribeScheme, scheme, () => 'dark' as const);
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
        basicSetup={{ foldGutter: false, highlightActiveLine: !readOnly }}
      />
    </div>
  );
}
