import {
  AlertSeveritySchema,
  MaliceLevelSchema,
  type TargetingField,
  TargetingFieldSchema,
  type TargetingOp,
  TargetingOpSchema,
  type TargetingRule,
  type TargetingRules,
} from '@calseta/schema';
import { useState } from 'react';
import { Select } from './form.js';

type Group = 'match_all' | 'match_any';
const GROUPS: Array<{ id: Group; label: string }> = [
  { id: 'match_all', label: 'All of these must hold' },
  { id: 'match_any', label: 'At least one of these must hold' },
];
const ORDERED: Partial<Record<TargetingField, readonly string[]>> = {
  severity: AlertSeveritySchema.options,
  malice: MaliceLevelSchema.options,
};

function valueText(rule: TargetingRule): string {
  return Array.isArray(rule.value) ? rule.value.join(', ') : String(rule.value);
}
function parseValue(op: TargetingOp, text: string): TargetingRule['value'] {
  return op === 'in'
    ? text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : text;
}

/** Free text; a list is typed as `a, b` and kept as typed (parsing it back would eat the commas). */
function ValueInput({
  label,
  initial,
  list,
  onChange,
}: {
  label: string;
  initial: string;
  list: boolean;
  onChange(text: string): void;
}) {
  const [text, setText] = useState(initial);
  return (
    <input
      aria-label={label}
      value={text}
      placeholder={list ? 'a, b, c' : 'value'}
      onChange={(e) => {
        setText(e.target.value);
        onChange(e.target.value);
      }}
    />
  );
}

/**
 * Targeting rules (context documents, agent trigger filters): rows of field / operator / value in
 * an "all" and an "any" group. `null` means no rules.
 */
export function TargetingBuilder({
  value,
  onChange,
  legend = 'Targeting rules',
}: {
  value: TargetingRules | null;
  onChange(value: TargetingRules | null): void;
  legend?: string;
}) {
  const rules: Record<Group, TargetingRule[]> = {
    match_all: value?.match_all ?? [],
    match_any: value?.match_any ?? [],
  };
  const emit = (next: Record<Group, TargetingRule[]>) => {
    const out: TargetingRules = {};
    if (next.match_all.length) out.match_all = next.match_all;
    if (next.match_any.length) out.match_any = next.match_any;
    onChange(out.match_all || out.match_any ? out : null);
  };
  const setRule = (group: Group, index: number, rule: TargetingRule) =>
    emit({ ...rules, [group]: rules[group].map((r, i) => (i === index ? rule : r)) });
  return (
    <fieldset className="targeting">
      <legend>{legend}</legend>
      {GROUPS.map((group) => (
        <div key={group.id} className="targeting-group">
          <h3>{group.label}</h3>
          {rules[group.id].length === 0 && <p className="muted small">No rules.</p>}
          {rules[group.id].map((rule, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: rules have no identity; order is the identity
            <div className="targeting-row" key={i}>
              <Select
                ariaLabel={`${group.id} rule ${i + 1} field`}
                value={rule.field}
                options={TargetingFieldSchema.options}
                onChange={(field) => setRule(group.id, i, { ...rule, field, op: 'eq', value: '' })}
              />
              <Select
                ariaLabel={`${group.id} rule ${i + 1} operator`}
                value={rule.op}
                options={TargetingOpSchema.options.filter(
                  (op) => (op !== 'gte' && op !== 'lte') || ORDERED[rule.field],
                )}
                onChange={(op) => setRule(group.id, i, { ...rule, op, value: parseValue(op, valueText(rule)) })}
              />
              {ORDERED[rule.field] && rule.op !== 'in' ? (
                <Select
                  ariaLabel={`${group.id} rule ${i + 1} value`}
                  value={valueText(rule)}
                  options={ORDERED[rule.field] ?? []}
                  allowEmpty="—"
                  onChange={(v) => setRule(group.id, i, { ...rule, value: v })}
                />
              ) : (
                <ValueInput
                  key={`${rule.field}-${rule.op}`}
                  label={`${group.id} rule ${i + 1} value`}
                  initial={valueText(rule)}
                  list={rule.op === 'in'}
                  onChange={(text) => setRule(group.id, i, { ...rule, value: parseValue(rule.op, text) })}
                />
              )}
              <button
                type="button"
                className="ghost small"
                aria-label={`Remove ${group.id} rule ${i + 1}`}
                onClick={() => emit({ ...rules, [group.id]: rules[group.id].filter((_, j) => j !== i) })}
              >
                ✕
              </button>
            </div>
          ))}
          <button
            type="button"
            className="small"
            onClick={() =>
              emit({ ...rules, [group.id]: [...rules[group.id], { field: 'severity', op: 'eq', value: 'High' }] })
            }
          >
            + Add rule
          </button>
        </div>
      ))}
    </fieldset>
  );
}
