import { useState } from 'react';

/** A string map edited as rows (headers, query parameters, URL templates by type). */
export function KeyValueEditor({
  legend,
  value,
  onChange,
  keyLabel = 'Name',
  valueLabel = 'Value',
}: {
  legend: string;
  value: Record<string, string | number | boolean>;
  onChange(value: Record<string, string>): void;
  keyLabel?: string;
  valueLabel?: string;
}) {
  // Rows live locally so a half-typed key (or two empty rows) is not collapsed by the map.
  const [rows, setRows] = useState<Array<[string, string]>>(() =>
    Object.entries(value).map(([k, v]) => [k, String(v)]),
  );
  const emit = (next: Array<[string, string]>) => {
    setRows(next);
    onChange(Object.fromEntries(next.filter(([k]) => k.trim() !== '')));
  };
  return (
    <fieldset className="kv-editor">
      <legend>{legend}</legend>
      {rows.map(([k, v], i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: rows are positional
        <div className="targeting-row" key={i}>
          <input
            aria-label={`${legend} ${keyLabel.toLowerCase()} ${i + 1}`}
            placeholder={keyLabel}
            value={k}
            onChange={(e) => emit(rows.map((r, j) => (j === i ? [e.target.value, r[1]] : r)))}
          />
          <input
            aria-label={`${legend} ${valueLabel.toLowerCase()} ${i + 1}`}
            placeholder={valueLabel}
            value={v}
            className="grow"
            onChange={(e) => emit(rows.map((r, j) => (j === i ? [r[0], e.target.value] : r)))}
          />
          <button
            type="button"
            className="ghost small"
            aria-label={`Remove ${legend} row ${i + 1}`}
            onClick={() => emit(rows.filter((_, j) => j !== i))}
          >
            ✕
          </button>
        </div>
      ))}
      <button type="button" className="small" onClick={() => setRows([...rows, ['', '']])}>
        + Add
      </button>
    </fieldset>
  );
}
