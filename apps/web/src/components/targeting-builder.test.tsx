import type { TargetingRules } from '@calseta/schema';
import { TargetingRulesSchema } from '@calseta/schema';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { describe, expect, it } from 'vitest';
import { TargetingBuilder } from './targeting-builder.js';

function Harness({ onChange }: { onChange(v: TargetingRules | null): void }) {
  const [value, setValue] = useState<TargetingRules | null>(null);
  return (
    <TargetingBuilder
      value={value}
      onChange={(v) => {
        setValue(v);
        onChange(v);
      }}
    />
  );
}

describe('TargetingBuilder', () => {
  it('builds rules the API accepts, and removing the last rule gives null', async () => {
    const user = userEvent.setup();
    let latest: TargetingRules | null = null;
    render(<Harness onChange={(v) => (latest = v)} />);
    const [addAll, addAny] = screen.getAllByRole('button', { name: '+ Add rule' });
    await user.click(addAll as HTMLElement);
    await user.selectOptions(screen.getByLabelText('match_all rule 1 operator'), 'gte');
    await user.click(addAny as HTMLElement);
    await user.selectOptions(screen.getByLabelText('match_any rule 1 field'), 'source_name');
    await user.selectOptions(screen.getByLabelText('match_any rule 1 operator'), 'in');
    await user.type(screen.getByLabelText('match_any rule 1 value'), 'elastic, splunk');
    expect(latest).toEqual({
      match_all: [{ field: 'severity', op: 'gte', value: 'High' }],
      match_any: [{ field: 'source_name', op: 'in', value: ['elastic', 'splunk'] }],
    });
    expect(TargetingRulesSchema.safeParse(latest).success).toBe(true);
    await user.click(screen.getByRole('button', { name: 'Remove match_all rule 1' }));
    await user.click(screen.getByRole('button', { name: 'Remove match_any rule 1' }));
    expect(latest).toBeNull();
  });
});
