import { BUILTIN_WORKFLOWS } from '@calseta/workflow-sandbox';
import { sql } from 'kysely';
import type { CoreDeps } from '../infra/context.js';
import { newUuid } from '../infra/ids.js';

const NOT_CONFIGURED_NOTE = (label: string, provider: string) =>
  `\n\n> **Inactive:** the ${label} credentials are not configured. Set them on the \`${provider}\` enrichment provider (or its environment variables), then restart or re-seed to activate this workflow.`;

/**
 * Seed the nine builtin workflows (`is_system`, approval `always`) by name, idempotently. A
 * workflow is `active` when the credentials of its integration's provider (`okta` / `entra`)
 * resolve, else `inactive` with a note in its documentation. Existing rows get the shipped code,
 * documentation and state; their other settings are left as the admin set them.
 */
export async function seedBuiltinWorkflows(deps: Pick<CoreDeps, 'db'> & Partial<Pick<CoreDeps, 'enrichment'>>) {
  const configured = new Map<string, boolean>();
  for (const provider of ['okta', 'entra'] as const) {
    const loaded = deps.enrichment ? await deps.enrichment.registry.byName(provider).catch(() => undefined) : undefined;
    configured.set(provider, loaded?.auth.hasCredentials === true);
  }
  for (const builtin of BUILTIN_WORKFLOWS) {
    const ok = configured.get(builtin.integration) === true;
    const label = builtin.integration === 'okta' ? 'Okta' : 'Microsoft Entra';
    const state = ok ? 'active' : 'inactive';
    const documentation = ok
      ? builtin.documentation
      : builtin.documentation + NOT_CONFIGURED_NOTE(label, builtin.integration);
    await deps.db.transaction().execute(async (trx) => {
      // Names are not unique in the table: processes starting together take turns (no duplicates).
      await sql`SELECT pg_advisory_xact_lock(hashtext('calseta:seed-builtin-workflows'))`.execute(trx);
      const existing = await trx
        .selectFrom('workflows')
        .select(['id', 'code', 'code_version', 'state', 'documentation'])
        .where('name', '=', builtin.name)
        .where('is_system', '=', true)
        .forUpdate()
        .executeTakeFirst();
      if (!existing) {
        await trx
          .insertInto('workflows')
          .values({
            uuid: newUuid(),
            name: builtin.name,
            workflow_type: builtin.workflowType,
            indicator_types: [...builtin.indicatorTypes],
            code: builtin.code,
            state,
            is_active: ok,
            is_system: true,
            timeout_seconds: builtin.timeoutSeconds,
            retry_count: 0,
            tags: ['builtin', builtin.integration],
            secrets: [],
            approval_mode: builtin.approvalMode,
            risk_level: builtin.riskLevel,
            documentation,
          })
          .execute();
        return;
      }
      if (existing.code === builtin.code && existing.state === state && existing.documentation === documentation)
        return;
      if (existing.code !== builtin.code) {
        await trx
          .insertInto('workflow_code_versions')
          .values({ workflow_id: existing.id, version: existing.code_version, code: existing.code, saved_by: 'system' })
          .execute();
      }
      await trx
        .updateTable('workflows')
        .set({
          code: builtin.code,
          code_version: existing.code === builtin.code ? existing.code_version : existing.code_version + 1,
          state,
          is_active: ok,
          documentation,
          updated_at: new Date(),
        })
        .where('id', '=', existing.id)
        .execute();
    });
  }
}
