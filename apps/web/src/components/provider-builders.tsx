import {
  type HttpConfig,
  HttpMethodSchema,
  type HttpStep,
  INDICATOR_TYPES,
  type MaliceLevel,
  MaliceLevelSchema,
  MaliceOperatorSchema,
  type MaliceRules,
} from '@calseta/schema';
import { useState } from 'react';
import { Checkbox, parseJson, Select, SelectField, TextField } from './form.js';
import { KeyValueEditor } from './key-value-editor.js';

const statusList = (text: string) =>
  text
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n >= 100 && n <= 599);

const NEW_STEP: HttpStep = {
  method: 'GET',
  url: 'https://api.example.com/lookup/{{indicator.value}}',
  headers: {},
  query_params: {},
  expected_status: [200],
  not_found_status: [404],
  optional: false,
};

/**
 * The steps of a provider's `http_config`: method, URL template, headers, query, body and the
 * status codes that mean "answered" and "not found". Templates read `{{indicator.value}}`,
 * `{{auth.<key>}}` and earlier steps' answers (`{{steps.<name>.<path>}}`).
 */
export function HttpConfigBuilder({
  value,
  onChange,
  readOnly,
}: {
  value: HttpConfig;
  onChange(value: HttpConfig): void;
  readOnly?: boolean;
}) {
  const setStep = (i: number, step: HttpStep) =>
    onChange({ ...value, steps: value.steps.map((s, j) => (j === i ? step : s)) });
  return (
    <fieldset className="builder" disabled={readOnly}>
      <legend>HTTP steps</legend>
      {value.steps.map((step, i) => (
        <StepEditor
          // biome-ignore lint/suspicious/noArrayIndexKey: steps are positional
          key={i}
          index={i}
          step={step}
          onChange={(s) => setStep(i, s)}
          onRemove={
            value.steps.length > 1
              ? () => onChange({ ...value, steps: value.steps.filter((_, j) => j !== i) })
              : undefined
          }
        />
      ))}
      <button
        type="button"
        className="small"
        onClick={() =>
          onChange({ ...value, steps: [...value.steps, { ...NEW_STEP, name: `step_${value.steps.length}` }] })
        }
      >
        + Add step
      </button>
      <KeyValueEditor
        legend="URL template per indicator type (first step)"
        keyLabel="Type"
        valueLabel="URL template"
        value={value.url_templates_by_type ?? {}}
        onChange={(m) => onChange({ ...value, url_templates_by_type: m as HttpConfig['url_templates_by_type'] })}
      />
      <p className="muted small">Indicator types: {INDICATOR_TYPES.join(', ')}.</p>
    </fieldset>
  );
}

function StepEditor({
  index,
  step,
  onChange,
  onRemove,
}: {
  index: number;
  step: HttpStep;
  onChange(step: HttpStep): void;
  onRemove: (() => void) | undefined;
}) {
  const [body, setBody] = useState(step.json_body === undefined ? '' : JSON.stringify(step.json_body, null, 2));
  const parsed = body.trim() ? parseJson(body) : null;
  return (
    <section className="card step" aria-label={`Step ${index + 1}`}>
      <div className="card-header">
        <h3>Step {index + 1}</h3>
        {onRemove && (
          <button type="button" className="ghost small" onClick={onRemove}>
            Remove step
          </button>
        )}
      </div>
      <div className="form-grid">
        <TextField
          label="Name"
          value={step.name ?? ''}
          onChange={(name) => onChange({ ...step, ...(name ? { name } : { name: undefined }) })}
        />
        <SelectField
          label="Method"
          value={step.method}
          options={HttpMethodSchema.options}
          onChange={(method) => onChange({ ...step, method })}
        />
      </div>
      <TextField
        label="URL template"
        value={step.url ?? ''}
        onChange={(url) => onChange({ ...step, url: url || undefined })}
      />
      <KeyValueEditor
        legend={`Step ${index + 1} headers`}
        value={step.headers}
        onChange={(headers) => onChange({ ...step, headers })}
      />
      <KeyValueEditor
        legend={`Step ${index + 1} query parameters`}
        value={step.query_params}
        onChange={(query_params) => onChange({ ...step, query_params })}
      />
      <div className="form-grid">
        <TextField
          label="Expected status"
          value={step.expected_status.join(', ')}
          onChange={(t) => onChange({ ...step, expected_status: statusList(t) })}
        />
        <TextField
          label="Not-found status"
          value={step.not_found_status.join(', ')}
          onChange={(t) => onChange({ ...step, not_found_status: statusList(t) })}
        />
      </div>
      <Checkbox
        label="Optional (a failure does not fail the provider)"
        checked={step.optional}
        onChange={(optional) => onChange({ ...step, optional })}
      />
      <label className="field">
        <span>JSON body (optional)</span>
        <textarea
          className="mono"
          rows={3}
          value={body}
          onChange={(e) => {
            setBody(e.target.value);
            const p = e.target.value.trim() ? parseJson(e.target.value) : null;
            if (p === null) onChange({ ...step, json_body: undefined });
            else if (p.ok) onChange({ ...step, json_body: p.value });
          }}
        />
      </label>
      {parsed && !parsed.ok && <p className="banner error">{parsed.error}</p>}
    </section>
  );
}

/** Rules turning extracted fields into a verdict (first match wins), plus the defaults. */
export function MaliceRulesBuilder({
  value,
  onChange,
}: {
  value: MaliceRules | null;
  onChange(value: MaliceRules): void;
}) {
  const rules = value ?? {
    rules: [],
    default_verdict: 'Pending' as MaliceLevel,
    not_found_verdict: 'Pending' as MaliceLevel,
  };
  const setRule = (i: number, rule: MaliceRules['rules'][number]) =>
    onChange({ ...rules, rules: rules.rules.map((r, j) => (j === i ? rule : r)) });
  return (
    <fieldset className="builder">
      <legend>Malice rules (first match wins)</legend>
      {rules.rules.map((rule, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: rules are ordered
        <div className="targeting-row" key={i}>
          <input
            aria-label={`Rule ${i + 1} field`}
            placeholder="data.attributes.score"
            value={rule.field}
            onChange={(e) => setRule(i, { ...rule, field: e.target.value })}
          />
          <Select
            ariaLabel={`Rule ${i + 1} operator`}
            value={rule.operator}
            options={MaliceOperatorSchema.options}
            onChange={(operator) => setRule(i, { ...rule, operator })}
          />
          <RuleValue index={i} value={rule.value} onChange={(v) => setRule(i, { ...rule, value: v })} />
          <Select
            ariaLabel={`Rule ${i + 1} verdict`}
            value={rule.verdict}
            options={MaliceLevelSchema.options}
            onChange={(verdict) => setRule(i, { ...rule, verdict })}
          />
          <button
            type="button"
            className="ghost small"
            aria-label={`Remove rule ${i + 1}`}
            onClick={() => onChange({ ...rules, rules: rules.rules.filter((_, j) => j !== i) })}
          >
            ✕
          </button>
        </div>
      ))}
      <button
        type="button"
        className="small"
        onClick={() =>
          onChange({ ...rules, rules: [...rules.rules, { field: '', operator: '>=', value: 1, verdict: 'Malicious' }] })
        }
      >
        + Add rule
      </button>
      <div className="form-grid">
        <SelectField
          label="Default verdict"
          value={rules.default_verdict}
          options={MaliceLevelSchema.options}
          onChange={(default_verdict) => onChange({ ...rules, default_verdict })}
        />
        <SelectField
          label="Not-found verdict"
          value={rules.not_found_verdict}
          options={MaliceLevelSchema.options}
          onChange={(not_found_verdict) => onChange({ ...rules, not_found_verdict })}
        />
      </div>
    </fieldset>
  );
}

/** A rule's value as JSON (`5`, `"tor"`, `["a","b"]`); plain text is taken as a string. */
function RuleValue({ index, value, onChange }: { index: number; value: unknown; onChange(value: unknown): void }) {
  const [text, setText] = useState(JSON.stringify(value));
  return (
    <input
      aria-label={`Rule ${index + 1} value`}
      className="mono"
      value={text}
      onChange={(e) => {
        setText(e.target.value);
        const p = parseJson(e.target.value);
        onChange(p.ok ? p.value : e.target.value);
      }}
    />
  );
}
