import { type ReactNode, useId, useState } from 'react';

/** A labelled control; `hint` is tied to the control with aria-describedby. */
export function Field({
  label,
  hint,
  children,
}: {
  label: string;
  hint?: ReactNode;
  children: (id: string, describedBy?: string) => ReactNode;
}) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children(id, hintId)}
      {hint && (
        <small id={hintId} className="muted">
          {hint}
        </small>
      )}
    </div>
  );
}

export function TextField({
  label,
  value,
  onChange,
  hint,
  type = 'text',
  placeholder,
  required,
}: {
  label: string;
  value: string;
  onChange(value: string): void;
  hint?: ReactNode;
  type?: string;
  placeholder?: string;
  required?: boolean;
}) {
  return (
    <Field label={label} hint={hint}>
      {(id, describedBy) => (
        <input
          id={id}
          type={type}
          value={value}
          placeholder={placeholder}
          required={required}
          aria-describedby={describedBy}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </Field>
  );
}

export function TextArea({
  label,
  value,
  onChange,
  rows = 6,
  hint,
  mono,
}: {
  label: string;
  value: string;
  onChange(value: string): void;
  rows?: number;
  hint?: ReactNode;
  mono?: boolean;
}) {
  return (
    <Field label={label} hint={hint}>
      {(id, describedBy) => (
        <textarea
          id={id}
          rows={rows}
          value={value}
          className={mono ? 'mono' : undefined}
          aria-describedby={describedBy}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </Field>
  );
}

export function SelectField<T extends string>({
  label,
  value,
  options,
  onChange,
  hint,
  allowEmpty,
}: {
  label: string;
  value: NoInfer<T> | '';
  options: readonly T[] | ReadonlyArray<{ value: T; label: string }>;
  onChange(value: NoInfer<T>): void;
  hint?: ReactNode;
  allowEmpty?: string;
}) {
  return (
    <Field label={label} hint={hint}>
      {(id, describedBy) => (
        <Select
          id={id}
          describedBy={describedBy}
          value={value}
          options={options}
          onChange={onChange}
          allowEmpty={allowEmpty}
        />
      )}
    </Field>
  );
}

/** A bare select (for table cells and toolbars, where the label is aria-label). */
export function Select<T extends string>({
  id,
  value,
  options,
  onChange,
  allowEmpty,
  describedBy,
  ariaLabel,
}: {
  id?: string;
  value: NoInfer<T> | '';
  options: readonly T[] | ReadonlyArray<{ value: T; label: string }>;
  onChange(value: NoInfer<T>): void;
  allowEmpty?: string | undefined;
  describedBy?: string | undefined;
  ariaLabel?: string;
}) {
  const normalized = options.map((o) => (typeof o === 'string' ? { value: o, label: o } : o));
  return (
    <select
      id={id}
      value={value}
      aria-label={ariaLabel}
      aria-describedby={describedBy}
      onChange={(e) => onChange(e.target.value as T)}
    >
      {allowEmpty !== undefined && <option value="">{allowEmpty}</option>}
      {normalized.map((o) => (
        <option key={o.value} value={o.value}>
          {o.label}
        </option>
      ))}
    </select>
  );
}

export function Checkbox({
  label,
  checked,
  onChange,
}: {
  label: ReactNode;
  checked: boolean;
  onChange(checked: boolean): void;
}) {
  return (
    <label className="checkbox">
      <input type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} />
      <span>{label}</span>
    </label>
  );
}

/** A fieldset of checkboxes over a fixed list (scopes, indicator types, severities…). */
export function CheckboxGroup<T extends string>({
  legend,
  options,
  value,
  onChange,
}: {
  legend: string;
  options: readonly T[];
  value: readonly T[];
  onChange(value: T[]): void;
}) {
  return (
    <fieldset className="checkbox-group">
      <legend>{legend}</legend>
      {options.map((option) => (
        <Checkbox
          key={option}
          label={option}
          checked={value.includes(option)}
          onChange={(on) => onChange(on ? [...value, option] : value.filter((v) => v !== option))}
        />
      ))}
    </fieldset>
  );
}

/** A filter popover (`<details>`: keyboard- and screen-reader-friendly without extra code). */
export function MultiFilter<T extends string>({
  label,
  options,
  value,
  onChange,
}: {
  label: string;
  options: readonly T[];
  value: readonly T[];
  onChange(value: T[]): void;
}) {
  return (
    <details className="filter">
      <summary>
        {label}
        {value.length > 0 && <span className="count">{value.length}</span>}
      </summary>
      <div className="filter-menu">
        <CheckboxGroup legend={label} options={options} value={value} onChange={onChange} />
        {value.length > 0 && (
          <button type="button" className="ghost small" onClick={() => onChange([])}>
            Clear
          </button>
        )}
      </div>
    </details>
  );
}

/** A comma-separated list edited as text (tags, MITRE ids, sources). */
export function ListField({
  label,
  value,
  onChange,
  hint,
}: {
  label: string;
  value: readonly string[];
  onChange(value: string[]): void;
  hint?: ReactNode;
}) {
  const [text, setText] = useState(value.join(', '));
  return (
    <TextField
      label={label}
      hint={hint ?? 'Comma-separated'}
      value={text}
      onChange={(t) => {
        setText(t);
        onChange(splitList(t));
      }}
    />
  );
}

export const splitList = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** JSON typed as text: returns the parsed value or the parse error. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

/** A file's text (FileReader: also where `Blob.text()` is missing). */
export function readFileText(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsText(file);
  });
}

/** A form's fields in one state; `set('name')` is the `onChange` of that field. */
export function useFields<F extends object>(initial: F) {
  const [fields, setFields] = useState(initial);
  const set =
    <K extends keyof F>(key: K) =>
    (value: F[K]) =>
      setFields((current) => ({ ...current, [key]: value }));
  return [fields, set, setFields] as const;
}
