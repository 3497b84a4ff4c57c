import type { CoreDeps } from '@calseta/core';
import { OpenAPIHono } from '@hono/zod-openapi';
import { errorResponse, issueList, toErrorResponse } from './errors.js';
import { requestMetrics } from './middleware/metrics.js';
import { ipRateLimit } from './middleware/rate-limit.js';
import { bodyLimits, corsFor, readBody, requestContext, securityHeaders } from './middleware/request.js';
import { requestTracing } from './middleware/tracing.js';
import { agentRoutes } from './routes/agents.js';
import { alertLifecycleRoutes } from './routes/alert-lifecycle.js';
import { alertRoutes } from './routes/alerts.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { approvalRoutes } from './routes/approvals.js';
import { authRoutes } from './routes/auth.js';
import { contextDocumentRoutes } from './routes/context-documents.js';
import { detectionRuleRoutes } from './routes/detection-rules.js';
import { fieldExtractionRoutes } from './routes/enrichment-field-extractions.js';
import { enrichmentProviderRoutes } from './routes/enrichment-providers.js';
import { enrichmentRoutes } from './routes/enrichments.js';
import { incidentRoutes } from './routes/incidents.js';
import { mappingRoutes } from './routes/indicator-mappings.js';
import { ingestRoutes } from './routes/ingest.js';
import { metricsRoutes } from './routes/metrics.js';
import { settingsRoutes } from './routes/settings.js';
import { sourceRoutes } from './routes/sources.js';
import { docsRoutes, healthRoutes } from './routes/system.js';
import { userRoutes } from './routes/users.js';
import { workflowRoutes } from './routes/workflows.js';
import type { AppEnv, SecurityOptions } from './types.js';
import { webApp } from './web-app.js';

/** Body cap of the routes whose credential travels in the body (decide form, Slack callback). */
const CREDENTIAL_IN_BODY_MAX_BYTES = 256 * 1024;

export interface AppOptions {
  version: string;
  maxIngestBytes: number;
  maxBodyBytes: number;
  logRequests: boolean;
  /** Rate limits, trusted proxies, CORS, HSTS; absent = all off. */
  security?: SecurityOptions;
}

/** The HTTP adapter: middleware, routes, one error mapping, the OpenAPI document and its docs page. */
export function createApp(deps: CoreDeps, options: AppOptions) {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        return errorResponse(c, 'VALIDATION_ERROR', 'Request validation failed.', {
          errors: issueList(result.error.issues),
        });
      }
    },
  });

  const security = options.security ?? {};
  app.use('*', requestTracing());
  app.use('*', requestMetrics());
  app.use('*', requestContext(deps, options.logRequests, security));
  app.use('*', webApp());
  app.use('*', securityHeaders(security.hsts));
  if (security.corsOrigins?.length) app.use('*', corsFor(security.corsOrigins));
  app.use('/v1/approvals/*', ipRateLimit('authenticated'));
  // Sign-in is unauthenticated: starting one stores a row, so it is counted per client IP.
  app.use('/v1/auth/oidc/*', ipRateLimit('unauthenticated'));
  app.use('/v1/*', bodyLimits(options.maxIngestBytes, options.maxBodyBytes));
  // Key-authenticated routes read their body behind the gate (apiRoute); these routes carry their
  // own credential (the decide link's token, Slack's signature) and are rate limited per IP above.
  // Their bodies are small forms, read before that credential is checked: cap them far below the
  // general limit so an unauthenticated caller cannot make us read megabytes.
  const credentialInBody = bodyLimits(CREDENTIAL_IN_BODY_MAX_BYTES, CREDENTIAL_IN_BODY_MAX_BYTES);
  app.use('/v1/approvals/:approval_uuid/decide', credentialInBody, readBody);
  app.use('/v1/approvals/callback/*', credentialInBody, readBody);

  for (const routes of [
    alertRoutes,
    ingestRoutes,
    apiKeyRoutes,
    mappingRoutes,
    enrichmentRoutes,
    enrichmentProviderRoutes,
    fieldExtractionRoutes,
    detectionRuleRoutes,
    contextDocumentRoutes,
    agentRoutes,
    metricsRoutes,
    alertLifecycleRoutes,
    workflowRoutes,
    approvalRoutes,
    sourceRoutes,
    settingsRoutes,
    authRoutes,
    userRoutes,
    incidentRoutes,
  ])
    app.route('/', routes);
  app.route('/', healthRoutes(options.version));
  app.route('/', docsRoutes());

  app.openAPIRegistry.registerComponent('securitySchemes', 'ApiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key (`cai_...`) as a bearer token.',
  });
  // Browser sessions (issue 21): every operation that takes a key also takes this cookie, whose
  // writes need X-CSRF-Token and an allowed Origin (docs/guides/single-sign-on.md).
  app.openAPIRegistry.registerComponent('securitySchemes', 'Session', {
    type: 'apiKey',
    in: 'cookie',
    name: 'calseta_session',
    description: 'A signed-in browser session (`/v1/auth/*`); writes also need the `X-CSRF-Token` header.',
  });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Calseta API',
      version: options.version,
      description: 'The data layer for security AI agents: ingest, normalize, enrich, contextualize, dispatch.',
    },
  });

  app.notFound((c) => errorResponse(c, 'NOT_FOUND', 'The requested resource was not found.'));
  app.onError((error, c) => toErrorResponse(c, error));
  return app;
}

export type App = ReturnType<typeof createApp>;
