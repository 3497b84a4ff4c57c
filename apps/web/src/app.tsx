import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { type ComponentType, lazy, type ReactNode, Suspense, useState } from 'react';
import { Route, Routes, useLocation } from 'react-router';
import { ApiError } from './api/client.js';
import { AuthGate } from './auth.js';
import { ErrorBoundary } from './components/error-boundary.js';
import { Loading } from './components/feedback.js';
import { Shell } from './shell.js';

/** Each page is its own chunk: the first paint loads the shell and one page, not the editors and charts of all. */
function page<K extends string>(load: () => Promise<Record<K, ComponentType>>, name: K) {
  return lazy(async () => ({ default: (await load())[name] }));
}
const Dashboard = page(() => import('./pages/dashboard.js'), 'DashboardPage');
const Alerts = page(() => import('./pages/alerts.js'), 'AlertsPage');
const AlertDetail = page(() => import('./pages/alert-detail.js'), 'AlertDetailPage');
const Incidents = page(() => import('./pages/incidents.js'), 'IncidentsPage');
const IncidentDetail = page(() => import('./pages/incident-detail.js'), 'IncidentDetailPage');
const IndicatorDetail = page(() => import('./pages/indicator-detail.js'), 'IndicatorDetailPage');
const Approvals = page(() => import('./pages/approvals.js'), 'ApprovalsPage');
const Workflows = page(() => import('./pages/workflows.js'), 'WorkflowsPage');
const WorkflowDetail = page(() => import('./pages/workflow-detail.js'), 'WorkflowDetailPage');
const Agents = page(() => import('./pages/agents.js'), 'AgentsPage');
const AgentDetail = page(() => import('./pages/agent-detail.js'), 'AgentDetailPage');
const Providers = page(() => import('./pages/providers.js'), 'ProvidersPage');
const ProviderDetail = page(() => import('./pages/provider-detail.js'), 'ProviderDetailPage');
const Rules = page(() => import('./pages/rules.js'), 'RulesPage');
const RuleDetail = page(() => import('./pages/rule-detail.js'), 'RuleDetailPage');
const Docs = page(() => import('./pages/context-docs.js'), 'ContextDocsPage');
const DocDetail = page(() => import('./pages/context-doc-detail.js'), 'ContextDocDetailPage');
const ApiKeys = page(() => import('./pages/api-keys.js'), 'ApiKeysPage');
const Sources = page(() => import('./pages/sources.js'), 'SourcesPage');
const Mappings = page(() => import('./pages/mappings.js'), 'MappingsPage');
const Users = page(() => import('./pages/users.js'), 'UsersPage');

export function createQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        // Auth and scope errors do not get better by retrying.
        retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
        refetchOnWindowFocus: false,
      },
    },
  });
}

export function App({ client }: { client?: QueryClient }) {
  const [queryClient] = useState(() => client ?? createQueryClient());
  return (
    <QueryClientProvider client={queryClient}>
      <AuthGate>
        <Shell>
          <Suspense fallback={<Loading />}>
            <AppRoutes />
          </Suspense>
        </Shell>
      </AuthGate>
    </QueryClientProvider>
  );
}

function AppRoutes(): ReactNode {
  const location = useLocation();
  return (
    <ErrorBoundary resetKey={location.pathname}>
      <Routes>
        <Route path="/" element={<Dashboard />} />
        <Route path="/alerts" element={<Alerts />} />
        <Route path="/alerts/:uuid" element={<AlertDetail />} />
        <Route path="/incidents" element={<Incidents />} />
        <Route path="/incidents/:uuid" element={<IncidentDetail />} />
        <Route path="/indicators/:uuid" element={<IndicatorDetail />} />
        <Route path="/approvals" element={<Approvals />} />
        <Route path="/workflows" element={<Workflows />} />
        <Route path="/workflows/:uuid" element={<WorkflowDetail />} />
        <Route path="/agents" element={<Agents />} />
        <Route path="/agents/:uuid" element={<AgentDetail />} />
        <Route path="/providers" element={<Providers />} />
        <Route path="/providers/:uuid" element={<ProviderDetail />} />
        <Route path="/detection-rules" element={<Rules />} />
        <Route path="/detection-rules/:uuid" element={<RuleDetail />} />
        <Route path="/context-docs" element={<Docs />} />
        <Route path="/context-docs/:uuid" element={<DocDetail />} />
        <Route path="/settings/api-keys" element={<ApiKeys />} />
        <Route path="/settings/sources" element={<Sources />} />
        <Route path="/settings/indicator-mappings" element={<Mappings />} />
        <Route path="/settings/users" element={<Users />} />
        <Route path="*" element={<p className="muted">Page not found.</p>} />
      </Routes>
    </ErrorBoundary>
  );
}
