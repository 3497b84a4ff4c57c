import type { Scope } from '@calseta/schema';
import { useQuery } from '@tanstack/react-query';
import { type ReactNode, useEffect, useRef } from 'react';
import { Link, NavLink, useLocation } from 'react-router';
import { healthQuery } from './api/queries/system.js';
import { useAuth } from './auth.js';
import { Badge, ErrorBanner } from './components/feedback.js';

/** The links of the navigation; one with a scope (what its page reads: permissions.ts) is shown to those who hold it. */
const NAV: Array<{ group: string; links: Array<[string, string, Scope?]> }> = [
  {
    group: 'Operate',
    links: [
      ['/', 'Dashboard'],
      ['/alerts', 'Alerts', 'alerts:read'],
      ['/incidents', 'Incidents', 'alerts:read'],
      ['/approvals', 'Approvals', 'approvals:write'],
      ['/workflows', 'Workflows', 'workflows:read'],
    ],
  },
  {
    group: 'Manage',
    links: [
      ['/agents', 'Agents', 'agents:read'],
      ['/providers', 'Enrichment providers', 'enrichments:read'],
      ['/detection-rules', 'Detection rules', 'alerts:read'],
      ['/context-docs', 'Context documents', 'alerts:read'],
    ],
  },
  {
    group: 'Settings',
    links: [
      ['/settings/api-keys', 'API keys'],
      ['/settings/users', 'Users', 'admin'],
      ['/settings/sources', 'Alert sources', 'alerts:read'],
      ['/settings/indicator-mappings', 'Indicator mappings', 'admin'],
    ],
  },
];

export function Shell({ children }: { children: ReactNode }) {
  const { can, signOut, signingOut, signOutError } = useAuth();
  const health = useQuery({ ...healthQuery(), refetchInterval: 30_000 });
  const ok = health.data?.status === 'ok';
  // After client-side navigation, focus the new page (screen readers announce it; Tab starts there).
  const location = useLocation();
  const lastPath = useRef(location.pathname);
  useEffect(() => {
    if (lastPath.current === location.pathname) return;
    lastPath.current = location.pathname;
    document.getElementById('main')?.focus();
  }, [location.pathname]);
  return (
    <div className="shell">
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <aside className="sidebar">
        <div className="brand">
          <span className="logo" aria-hidden="true">
            ◆
          </span>{' '}
          Calseta
        </div>
        <nav aria-label="Main">
          {NAV.map((section) => (
            <div key={section.group} className="nav-group">
              <h2>{section.group}</h2>
              <ul>
                {section.links
                  .filter(([, , scope]) => !scope || can(scope))
                  .map(([to, label]) => (
                    <li key={to}>
                      <NavLink to={to} end={to === '/'}>
                        {label}
                      </NavLink>
                    </li>
                  ))}
              </ul>
            </div>
          ))}
        </nav>
        <div className="sidebar-footer">
          <span className={`health ${health.isLoading ? '' : ok ? 'ok' : 'down'}`} role="status">
            <span className="dot" aria-hidden="true" /> API {health.isLoading ? '…' : ok ? 'healthy' : 'unreachable'}
            {health.data?.version ? ` · ${health.data.version}` : ''}
          </span>
          <Person />
          <button type="button" className="ghost small" disabled={signingOut} onClick={() => signOut()}>
            Sign out
          </button>
          <ErrorBanner error={signOutError} title="Sign-out failed" />
        </div>
      </aside>
      <main id="main" className="content" tabIndex={-1}>
        <MockBanner providers={health.data?.mocked_providers ?? []} />
        {children}
      </main>
    </div>
  );
}

/** Who is signed in: the person and their roles, or the key a local session acts with. */
function Person() {
  const { session } = useAuth();
  const user = session.user;
  return (
    <section className="person" aria-label="Signed in as">
      {user ? (
        <>
          <strong className="person-name">{user.name || user.email}</strong>
          {user.name && user.email && <span className="muted small person-email">{user.email}</span>}
          <span className="person-roles">
            {user.roles.length ? (
              user.roles.map((role) => <Badge key={role} value={role} />)
            ) : (
              <span className="muted small">no role</span>
            )}
          </span>
        </>
      ) : (
        <span className="muted small">Signed in with an API key</span>
      )}
    </section>
  );
}

/** While any provider answers from the built-in mock, every page says its verdicts are invented. */
function MockBanner({ providers }: { providers: readonly string[] }) {
  if (providers.length === 0) return null;
  return (
    <div className="banner warn mock-banner" role="note" aria-label="Demo data">
      <strong>Demo data.</strong> {providers.join(', ')} {providers.length === 1 ? 'answers' : 'answer'} from Calseta's
      built-in mock providers: their verdicts are invented, not threat intelligence.{' '}
      <Link to="/providers">Configure real credentials</Link> to turn the mock off for a provider.
    </div>
  );
}
