import type { Scope } from '@calseta/schema';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, type FormEvent, type ReactNode, useContext, useEffect, useMemo, useState } from 'react';
import { useLocation, useNavigate } from 'react-router';
import {
  ApiError,
  api,
  dropLegacyKey,
  leavePage,
  type One,
  onStaleToken,
  onUnauthorized,
  setCsrfToken,
} from './api/client.js';
import { authQueries, hasScope, type Session } from './api/queries/auth.js';
import { ErrorBanner, Loading } from './components/feedback.js';

interface Auth {
  session: Session;
  /** Holds the session `scope` (or admin)? What the server will refuse is not offered. */
  can(scope: Scope): boolean;
  signOut(): void;
  signingOut: boolean;
  signOutError: Error | null;
}
const AuthContext = createContext<Auth | null>(null);
export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error('useAuth outside <AuthGate>');
  return auth;
}

/** Keys look like `cai_` + at least 32 URL-safe characters. */
const KEY_SHAPE = /^cai_[A-Za-z0-9_-]{8,}$/;

/** `?sign_in_error=<code>` (the OIDC callback's redirect) in an analyst's words. */
const SIGN_IN_ERRORS: Record<string, string> = {
  login_expired: 'The sign-in took too long or was started in another browser. Try again.',
  provider_error: 'The identity provider did not sign you in.',
  invalid_response: 'The identity provider’s answer could not be verified. Try again, or ask an administrator.',
  provider_unavailable: 'The identity provider could not be reached. Try again later.',
  disabled: 'Your account is disabled in Calseta. Ask an administrator.',
  no_role: 'You have no Calseta role: none of your groups at the identity provider maps to one. Ask an administrator.',
  no_email: 'The identity provider did not give your email address, which Calseta needs. Ask an administrator.',
};
const SIGN_IN_ERROR = 'sign_in_error';

/** The message for a `sign_in_error` code; an unknown code is named, never interpreted (it came in a URL). */
export function signInErrorMessage(code: string): string {
  const known = Object.hasOwn(SIGN_IN_ERRORS, code) ? SIGN_IN_ERRORS[code] : undefined;
  return known ?? `Sign-in with the identity provider failed (${code.slice(0, 64)}). Try again.`;
}

/**
 * Shows the sign-in page until the server says a session exists (the `calseta_session` cookie, HttpOnly:
 * this page never sees a credential); any 401 afterwards signs out with the reason.
 */
export function AuthGate({ children }: { children: ReactNode }) {
  const client = useQueryClient();
  const location = useLocation();
  const navigate = useNavigate();
  const [notice, setNotice] = useState<string | null>(() => {
    const code = new URLSearchParams(location.search).get(SIGN_IN_ERROR);
    return code ? signInErrorMessage(code) : null;
  });
  // Once: a key an older console kept in the browser is deleted; the error code leaves the URL (a reload
  // should not show it again).
  // biome-ignore lint/correctness/useExhaustiveDependencies: on mount only
  useEffect(() => {
    dropLegacyKey();
    const search = new URLSearchParams(location.search);
    if (!search.has(SIGN_IN_ERROR)) return;
    search.delete(SIGN_IN_ERROR);
    const rest = search.toString();
    void navigate({ pathname: location.pathname, search: rest ? `?${rest}` : '' }, { replace: true });
  }, []);
  const session = useQuery(authQueries.session());

  /** Forget everything this page knew; the server's answer (a 401) or sign-out ended the session. */
  const signedOut = useMemo(
    () => (reason: string | null) => {
      const key = authQueries.session().queryKey;
      // A request still in flight when the session ended answers 401 too: the first reason stands.
      if (client.getQueryData(key) === null) return;
      setCsrfToken(null);
      client.setQueryData(key, null);
      client.removeQueries({ predicate: (q) => q.queryKey[0] !== 'auth' });
      setNotice(reason);
    },
    [client],
  );
  useEffect(() => {
    onUnauthorized((reason) => signedOut(`Signed out: ${reason}`));
    onStaleToken(() => void client.refetchQueries({ queryKey: authQueries.session().queryKey }));
    return () => {
      onUnauthorized(null);
      onStaleToken(null);
    };
  }, [signedOut, client]);
  const signOut = useMutation({
    mutationFn: () => api<One<{ logout_url: string | null }>>('/v1/auth/session', { method: 'DELETE' }),
    onSuccess: ({ data }) => {
      signedOut(null);
      // RP-initiated logout: the identity provider ends its own session, then sends the browser back.
      if (data.logout_url) leavePage(data.logout_url);
    },
  });

  const auth = useMemo<Auth | null>(
    () =>
      session.data
        ? {
            session: session.data,
            can: (scope) => hasScope(session.data?.scopes ?? [], scope),
            signOut: () => signOut.mutate(),
            signingOut: signOut.isPending,
            signOutError: signOut.error,
          }
        : null,
    [session.data, signOut.mutate, signOut.isPending, signOut.error],
  );

  if (session.isPending) {
    return (
      <main className="signin">
        <Loading />
      </main>
    );
  }
  if (!auth) {
    return (
      <SignIn
        notice={notice}
        error={session.error}
        onSignedIn={async () => {
          setNotice(null);
          await client.refetchQueries({ queryKey: authQueries.session().queryKey });
        }}
      />
    );
  }
  return <AuthContext.Provider value={auth}>{children}</AuthContext.Provider>;
}

/** Where the identity provider sends the browser back to: this page, without a previous error. */
function returnPath(pathname: string, search: string): string {
  const params = new URLSearchParams(search);
  params.delete(SIGN_IN_ERROR);
  const rest = params.toString();
  return `${pathname}${rest ? `?${rest}` : ''}`;
}

function SignIn({
  notice,
  error: sessionError,
  onSignedIn,
}: {
  notice: string | null;
  error: Error | null;
  onSignedIn(): Promise<void>;
}) {
  const config = useQuery(authQueries.config());
  const location = useLocation();
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const oidc = config.data?.data.oidc;
  // Without an answer (an older API, a network error), the key form is what still works.
  const keyForm = config.data?.data.api_key_sign_in ?? true;
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const trimmed = key.trim();
    if (!KEY_SHAPE.test(trimmed)) {
      setError('An API key starts with cai_ followed by letters, digits, _ or -.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      // The server checks the key and answers with a session cookie; the key is not kept here.
      await api('/v1/auth/session', { method: 'POST', json: { api_key: trimmed }, expect401: true });
      setKey('');
      await onSignedIn();
    } catch (e) {
      setError(e instanceof ApiError && e.status === 401 ? `Key rejected: ${e.message}` : String((e as Error).message));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="signin">
      <div className="card signin-card">
        <h1 id="signin-title">
          <span className="logo" aria-hidden="true">
            ◆
          </span>{' '}
          Calseta
        </h1>
        {notice && (
          <p className="banner warn" role="status">
            {notice}
          </p>
        )}
        <ErrorBanner error={sessionError} title="The API did not answer" />
        {oidc?.enabled && (
          <a
            className="button primary signin-sso"
            href={`/v1/auth/oidc/login?return_to=${encodeURIComponent(returnPath(location.pathname, location.search))}`}
          >
            Sign in with {oidc.display_name || 'your identity provider'}
          </a>
        )}
        {keyForm && (
          <form className="signin-form" onSubmit={(e) => void submit(e)} aria-labelledby="signin-key-title">
            <h2 id="signin-key-title" className="muted small">
              {oidc?.enabled ? 'Or with an API key' : 'Sign in with an API key'} (
              <code>pnpm calseta api-key create</code> or <code>.calseta/admin-key</code>)
            </h2>
            <label className="field">
              <span>API key</span>
              <input
                type="password"
                name="api-key"
                autoComplete="off"
                placeholder="cai_…"
                value={key}
                onChange={(e) => setKey(e.target.value)}
                aria-invalid={error !== null}
                aria-describedby={error ? 'signin-error' : undefined}
              />
            </label>
            {error && (
              <p id="signin-error" className="banner error" role="alert">
                {error}
              </p>
            )}
            <button type="submit" className={oidc?.enabled ? '' : 'primary'} disabled={busy}>
              {busy ? 'Checking…' : 'Sign in'}
            </button>
          </form>
        )}
      </div>
    </main>
  );
}
