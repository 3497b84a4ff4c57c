import { useQueryClient } from '@tanstack/react-query';
import { createContext, type FormEvent, type ReactNode, useContext, useEffect, useMemo, useState } from 'react';
import { ApiError, api, clearApiKey, getApiKey, onUnauthorized, setApiKey } from './api/client.js';

interface Auth {
  signOut(reason?: string): void;
}
const AuthContext = createContext<Auth>({ signOut: () => {} });
export const useAuth = () => useContext(AuthContext);

/** Keys look like `cai_` + at least 32 URL-safe characters. */
const KEY_SHAPE = /^cai_[A-Za-z0-9_-]{8,}$/;

/** Shows the sign-in form until a key is stored; any 401 afterwards signs out with the reason. */
export function AuthGate({ children }: { children: ReactNode }) {
  const client = useQueryClient();
  const [signedIn, setSignedIn] = useState(() => getApiKey() !== null);
  const [notice, setNotice] = useState<string | null>(null);
  const auth = useMemo<Auth>(
    () => ({
      signOut(reason) {
        clearApiKey();
        client.clear();
        setNotice(reason ?? null);
        setSignedIn(false);
      },
    }),
    [client],
  );
  useEffect(() => {
    onUnauthorized((reason) => auth.signOut(`Signed out: ${reason}`));
    return () => onUnauthorized(null);
  }, [auth]);
  if (!signedIn) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={() => {
          setNotice(null);
          setSignedIn(true);
        }}
      />
    );
  }
  return <AuthContext.Provider value={auth}>{children}</AuthContext.Provider>;
}

function SignIn({ notice, onSignedIn }: { notice: string | null; onSignedIn(): void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
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
      // Any authenticated read proves the key; a 403 still means the key is valid (narrow scopes).
      await api('/v1/alerts?page_size=1', { key: trimmed });
      setApiKey(trimmed);
      onSignedIn();
    } catch (e) {
      if (e instanceof ApiError && e.status === 403) {
        setApiKey(trimmed);
        onSignedIn();
      } else {
        setError(
          e instanceof ApiError && e.status === 401 ? `Key rejected: ${e.message}` : String((e as Error).message),
        );
      }
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="signin">
      <form className="card signin-card" onSubmit={(e) => void submit(e)} aria-labelledby="signin-title">
        <h1 id="signin-title">
          <span className="logo" aria-hidden="true">
            ◆
          </span>{' '}
          Calseta
        </h1>
        <p className="muted">Sign in with an API key (`pnpm calseta api-key create` or `.calseta/admin-key`).</p>
        {notice && (
          <p className="banner warn" role="status">
            {notice}
          </p>
        )}
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
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
