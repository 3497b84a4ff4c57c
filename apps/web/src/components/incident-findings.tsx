import { type FindingConfidence, FindingConfidenceSchema } from '@calseta/schema';
import { useQuery } from '@tanstack/react-query';
import { useApiMutation } from '../api/hooks.js';
import { incidentQueries } from '../api/queries/incidents.js';
import { ErrorBanner, Loading } from './feedback.js';
import { FindingCards } from './findings.js';
import { SelectField, TextArea, TextField, useFields } from './form.js';
import { Card } from './layout.js';

const EMPTY = { agent_name: '', summary: '', confidence: '' as FindingConfidence | '', recommended_action: '' };

/** The incident's findings, and a form to post one (an analyst's conclusion, read by agents too). */
export function IncidentFindings({ uuid, editable }: { uuid: string; editable: boolean }) {
  const findings = useQuery(incidentQueries.findings(uuid));
  const [fields, set, setFields] = useFields(EMPTY);
  const post = useApiMutation<unknown, void>(
    () => ({
      path: `${incidentQueries.path(uuid)}/findings`,
      json: {
        agent_name: fields.agent_name.trim(),
        summary: fields.summary.trim(),
        confidence: fields.confidence || null,
        recommended_action: fields.recommended_action.trim() || null,
      },
    }),
    // The count in the header and the timeline change too.
    { invalidates: incidentQueries.changed(uuid), onSuccess: () => setFields(EMPTY) },
  );
  return (
    <div className="stack">
      {findings.error ? (
        <ErrorBanner error={findings.error} />
      ) : findings.data ? (
        <FindingCards findings={findings.data.data} empty="No finding posted yet." />
      ) : (
        <Loading />
      )}
      {editable && (
        <Card title="Post a finding">
          <form
            className="stack"
            onSubmit={(e) => {
              e.preventDefault();
              post.mutate();
            }}
          >
            <TextField
              label="Author"
              hint="Your name or the agent's"
              value={fields.agent_name}
              onChange={set('agent_name')}
              required
            />
            <TextArea label="Summary" hint="Markdown" value={fields.summary} onChange={set('summary')} rows={5} />
            <SelectField
              label="Confidence"
              value={fields.confidence}
              allowEmpty="Not stated"
              options={FindingConfidenceSchema.options}
              onChange={set('confidence')}
            />
            <TextField
              label="Recommended action"
              value={fields.recommended_action}
              onChange={set('recommended_action')}
            />
            <ErrorBanner error={post.error} />
            <button
              type="submit"
              className="primary"
              disabled={!fields.agent_name.trim() || !fields.summary.trim() || post.isPending}
            >
              Post finding
            </button>
          </form>
        </Card>
      )}
    </div>
  );
}
