/**
 * The nine builtin workflows (reference §7.10) as workflow JavaScript. Seeding (is_system, state,
 * approval mode, is_active from configured credentials) is core's job; this is the code and the
 * documentation. Each one: fails with "<Okta|Microsoft Entra> integration is not configured" when the
 * client is null, calls one integration method with the indicator's value (an account), logs an
 * event, and wraps errors as a failed result.
 *
 * Integration methods (the host builds the clients; the workflow never sees their credentials):
 * okta: revokeSessions, suspendUser, unsuspendUser, resetPassword (→ reset URL or null),
 * expirePassword; entra: revokeSessions, disableAccount, enableAccount, resetMfa.
 */

export type BuiltinRiskLevel = 'low' | 'medium' | 'high';

export interface BuiltinWorkflow {
  name: string;
  riskLevel: BuiltinRiskLevel;
  integration: 'okta' | 'entra';
  method: string;
  workflowType: 'indicator';
  indicatorTypes: ['account'];
  timeoutSeconds: 60;
  approvalMode: 'always';
  code: string;
  documentation: string;
}

interface Spec {
  name: string;
  risk: BuiltinRiskLevel;
  integration: 'okta' | 'entra';
  method: string;
  /** Past-tense verb phrase for messages: "Suspended Okta user". */
  done: string;
  /** Infinitive for failures: "suspend Okta user". */
  action: string;
  description: string;
  whenToUse: string;
  outcome: string;
  /** Adds `reset_url` to data when the method returns a string. */
  returnsUrl?: boolean;
}

const LABEL = { okta: 'Okta', entra: 'Microsoft Entra' } as const;

const SECRETS = {
  okta: '`OKTA_DOMAIN` and `OKTA_API_TOKEN` (server configuration). The host builds the Okta client from them; the workflow code never sees them.',
  entra:
    '`ENTRA_TENANT_ID`, `ENTRA_CLIENT_ID` and `ENTRA_CLIENT_SECRET` (server configuration, app registration with `User.ReadWrite.All` and `UserAuthenticationMethod.ReadWrite.All`). The host builds the Entra client from them; the workflow code never sees them.',
} as const;

const SPECS: Spec[] = [
  {
    name: 'Okta — Revoke All Sessions',
    risk: 'low',
    integration: 'okta',
    method: 'revokeSessions',
    done: 'Revoked all Okta sessions of',
    action: 'revoke Okta sessions of',
    description: 'Clears every active Okta session of the user, forcing a new sign-in everywhere.',
    whenToUse: 'A session token may be stolen (impossible travel, session hijack, suspicious sign-in).',
    outcome: 'The user is signed out of every Okta session; the account stays active.',
  },
  {
    name: 'Okta — Suspend User',
    risk: 'high',
    integration: 'okta',
    method: 'suspendUser',
    done: 'Suspended Okta user',
    action: 'suspend Okta user',
    description: 'Suspends the Okta user: they cannot sign in until unsuspended.',
    whenToUse: 'The account is confirmed or strongly suspected to be compromised or misused.',
    outcome: 'The Okta user status becomes SUSPENDED.',
  },
  {
    name: 'Okta — Unsuspend User',
    risk: 'medium',
    integration: 'okta',
    method: 'unsuspendUser',
    done: 'Unsuspended Okta user',
    action: 'unsuspend Okta user',
    description: 'Returns a suspended Okta user to ACTIVE.',
    whenToUse: 'After an investigation cleared the account, or to undo a suspension.',
    outcome: 'The Okta user status becomes ACTIVE.',
  },
  {
    name: 'Okta — Reset Password',
    risk: 'medium',
    integration: 'okta',
    method: 'resetPassword',
    done: 'Reset the Okta password of',
    action: 'reset the Okta password of',
    description: 'Starts an Okta password reset (the user receives the reset email).',
    whenToUse: 'The password may be known to someone else (phishing, credential stuffing, leak).',
    outcome: 'The password is reset; `reset_url` is in the result data when Okta returns one.',
    returnsUrl: true,
  },
  {
    name: 'Okta — Force Password Expiry',
    risk: 'low',
    integration: 'okta',
    method: 'expirePassword',
    done: 'Expired the Okta password of',
    action: 'expire the Okta password of',
    description: 'Expires the current Okta password: the user must change it at next sign-in.',
    whenToUse: 'A password rotation is wanted without locking the user out.',
    outcome: 'The user is asked for a new password at next sign-in.',
  },
  {
    name: 'Entra — Revoke Sign-in Sessions',
    risk: 'low',
    integration: 'entra',
    method: 'revokeSessions',
    done: 'Revoked Microsoft Entra sign-in sessions of',
    action: 'revoke Microsoft Entra sessions of',
    description: 'Invalidates every refresh token and session cookie of the Entra user.',
    whenToUse: 'A token or session may be stolen (impossible travel, token theft, suspicious sign-in).',
    outcome: 'The user must sign in again to every application.',
  },
  {
    name: 'Entra — Disable Account',
    risk: 'high',
    integration: 'entra',
    method: 'disableAccount',
    done: 'Disabled Microsoft Entra account',
    action: 'disable Microsoft Entra account',
    description: 'Sets `accountEnabled: false` on the Entra user: no new sign-ins.',
    whenToUse: 'The account is confirmed or strongly suspected to be compromised or misused.',
    outcome: 'The Entra account is disabled.',
  },
  {
    name: 'Entra — Enable Account',
    risk: 'medium',
    integration: 'entra',
    method: 'enableAccount',
    done: 'Enabled Microsoft Entra account',
    action: 'enable Microsoft Entra account',
    description: 'Sets `accountEnabled: true` on the Entra user.',
    whenToUse: 'After an investigation cleared the account, or to undo a disable.',
    outcome: 'The Entra account is enabled.',
  },
  {
    name: 'Entra — Force MFA Re-registration',
    risk: 'high',
    integration: 'entra',
    method: 'resetMfa',
    done: 'Removed the MFA methods of Microsoft Entra user',
    action: 'reset MFA of Microsoft Entra user',
    description: 'Deletes every non-password authentication method of the Entra user.',
    whenToUse: 'An attacker may have registered their own MFA method (MFA fatigue, device registration).',
    outcome: 'The user must register MFA again at next sign-in.',
  },
];

function codeOf(spec: Spec): string {
  const label = LABEL[spec.integration];
  const data = spec.returnsUrl
    ? '    const data = { account };\n    if (typeof value === "string" && value !== "") data.reset_url = value;\n'
    : '    const data = { account };\n';
  return `// ${spec.name} (builtin). Risk: ${spec.risk}.
export async function run(ctx) {
  const client = ctx.integrations.${spec.integration};
  if (!client) return WorkflowResult.fail(${JSON.stringify(`${label} integration is not configured`)});
  const account = ctx.indicator.value;
  try {
    const value = await client.${spec.method}(account);
${data}    ctx.log.info(${JSON.stringify(`${spec.integration}.${spec.method} succeeded`)}, { account });
    return WorkflowResult.ok(${JSON.stringify(`${spec.done} `)} + account, data);
  } catch (error) {
    ctx.log.error(${JSON.stringify(`${spec.integration}.${spec.method} failed`)}, { account, error: String(error.message) });
    return WorkflowResult.fail(${JSON.stringify(`Failed to ${spec.action} `)} + account + ": " + error.message, { account });
  }
}
`;
}

function documentationOf(spec: Spec): string {
  const label = LABEL[spec.integration];
  return [
    '## Description',
    spec.description,
    '',
    '## When to Use',
    spec.whenToUse,
    '',
    '## Required Secrets',
    SECRETS[spec.integration],
    '',
    '## Expected Outcome',
    `${spec.outcome} The result message names the account.`,
    '',
    '## Error Cases',
    `- ${label} is not configured: fails with "${label} integration is not configured".`,
    `- The user does not exist or ${label} refuses the call: fails with the ${label} error message.`,
    '- The run exceeds its timeout: timed out.',
    '',
  ].join('\n');
}

/** The nine builtin workflows, in the reference's order. */
export const BUILTIN_WORKFLOWS: readonly BuiltinWorkflow[] = SPECS.map((spec) => ({
  name: spec.name,
  riskLevel: spec.risk,
  integration: spec.integration,
  method: spec.method,
  workflowType: 'indicator',
  indicatorTypes: ['account'],
  timeoutSeconds: 60,
  approvalMode: 'always',
  code: codeOf(spec),
  documentation: documentationOf(spec),
}));
