/** Pretty JSON, collapsible; long documents start collapsed so pages stay fast. */
export function JsonView({ value, label = 'JSON', open }: { value: unknown; label?: string; open?: boolean }) {
  const text = JSON.stringify(value, null, 2) ?? 'undefined';
  return (
    <details className="json-view" open={open ?? text.length < 2_000}>
      <summary>
        {label} <span className="muted">({text.length.toLocaleString()} chars)</span>
      </summary>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard */}
      <pre tabIndex={0}>{text}</pre>
    </details>
  );
}
