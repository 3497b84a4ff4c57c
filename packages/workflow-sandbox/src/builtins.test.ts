import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_WORKFLOWS, createSandbox, type Sandbox, validateWorkflowCode } from './index.js';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = createSandbox({ limits: { timeoutMs: 2_000 } });
  await sandbox.prewarm();
});
afterAll(() => sandbox.close());

const context = { indicator: { type: 'account', value: 'jdoe@example.com' } };

describe('builtin workflows', () => {
  it('are the nine of the reference, each with the documentation sections', () => {
    expect(BUILTIN_WORKFLOWS.map((w) => [w.name, w.riskLevel, `${w.integration}.${w.method}`])).toEqual([
      ['Okta — Revoke All Sessions', 'low', 'okta.revokeSessions'],
      ['Okta — Suspend User', 'high', 'okta.suspendUser'],
      ['Okta — Unsuspend User', 'medium', 'okta.unsuspendUser'],
      ['Okta — Reset Password', 'medium', 'okta.resetPassword'],
      ['Okta — Force Password Expiry', 'low', 'okta.expirePassword'],
      ['Entra — Revoke Sign-in Sessions', 'low', 'entra.revokeSessions'],
      ['Entra — Disable Account', 'high', 'entra.disableAccount'],
      ['Entra — Enable Account', 'medium', 'entra.enableAccount'],
      ['Entra — Force MFA Re-registration', 'high', 'entra.resetMfa'],
    ]);
    for (const workflow of BUILTIN_WORKFLOWS) {
      for (const section of ['Description', 'When to Use', 'Required Secrets', 'Expected Outcome', 'Error Cases']) {
        expect(workflow.documentation).toContain(`## ${section}\n`);
      }
      expect(validateWorkflowCode(workflow.code), workflow.name).toEqual({ ok: true });
    }
  });

  it.each(BUILTIN_WORKFLOWS.map((w) => [w.name, w] as const))(
    '%s: calls its method, fails when unconfigured or on error',
    async (_name, workflow) => {
      const calls: unknown[] = [];
      const client = {
        [workflow.method]: async (account: unknown) => {
          calls.push(account);
          return workflow.method === 'resetPassword' ? 'https://okta.test/reset/abc' : undefined;
        },
      };
      const ok = await sandbox.run({ code: workflow.code, context, integrations: { [workflow.integration]: client } });
      expect(ok.status, ok.error ?? '').toBe('succeeded');
      expect(ok.result?.message).toMatch(/jdoe@example\.com$/);
      expect(ok.result?.data).toEqual(
        workflow.method === 'resetPassword'
          ? { account: 'jdoe@example.com', reset_url: 'https://okta.test/reset/abc' }
          : { account: 'jdoe@example.com' },
      );
      expect(calls).toEqual(['jdoe@example.com']);
      expect(ok.logs.map((l) => l.level)).toEqual(['info']);

      const label = workflow.integration === 'okta' ? 'Okta' : 'Microsoft Entra';
      const unconfigured = await sandbox.run({ code: workflow.code, context });
      expect(unconfigured.result).toEqual({
        success: false,
        message: `${label} integration is not configured`,
        data: {},
      });

      const failing = await sandbox.run({
        code: workflow.code,
        context,
        integrations: {
          [workflow.integration]: {
            [workflow.method]: async () => {
              throw new Error('User not found');
            },
          },
        },
      });
      expect(failing.status).toBe('failed');
      expect(failing.result?.message).toMatch(/^Failed to .* jdoe@example\.com: .*User not found$/);
      expect(failing.logs.map((l) => l.level)).toEqual(['error']);
    },
  );
});
