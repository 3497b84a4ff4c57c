import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type ClientMetadata, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';

/** A person who can sign in at the provider's login form. */
export interface TestUser {
  sub: string;
  email: string;
  name: string;
  password: string;
  groups?: string[];
  /** Extra claims put in the ID token as they are (e.g. `roles`). */
  claims?: Record<string, unknown>;
}

/** A relying party (confidential client, `client_secret_basic` unless said otherwise). */
export interface TestClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
  post_logout_redirect_uris?: string[];
  token_endpoint_auth_method?: 'client_secret_basic' | 'client_secret_post';
}

/**
 * A rewrite of the ID token the token endpoint returns, re-signed with the provider's own key (or
 * with its signature broken): how tests get an expired token, a wrong nonce, audience or issuer
 * from the real provider without mocking the RP's side.
 */
export interface IdTokenFault {
  /** Change claims and re-sign with the provider's key (e.g. `{ exp: past }`, `{ nonce: 'x' }`). */
  claims?: (claims: Record<string, unknown>) => Record<string, unknown>;
  /** Flip a byte of the signature (after any claim change). */
  corruptSignature?: boolean;
}

export interface OidcProviderOptions {
  clients: TestClient[];
  users: TestUser[];
  /** Loopback host to bind (default 127.0.0.1). */
  host?: string;
  port?: number;
  /** ID token lifetime in seconds (default 3600). */
  idTokenTtl?: number;
}

export interface RunningOidcProvider {
  /** `http://127.0.0.1:PORT` — the discovery document is at `{issuer}/.well-known/openid-configuration`. */
  issuer: string;
  /** Users by `sub`: change groups, passwords or claims between sign-ins. */
  users: Map<string, TestUser>;
  /** The next token responses' ID token is rewritten (`undefined` to stop). */
  setIdTokenFault(fault: IdTokenFault | undefined): void;
  /** How many token requests the provider answered. */
  tokenRequests(): number;
  close(): Promise<void>;
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><main>${body}</main></body></html>`;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/**
 * Starts a real OpenID Connect provider (`oidc-provider`) on loopback with an interactive login form
 * (`/interaction/:uid`: a plain HTML form with `login` and `password` fields and a `Sign in` button,
 * which a browser or a fetch with a cookie jar can fill in). Consent is granted automatically for the
 * registered clients; claims `email`, `name` and `groups` go in the ID token.
 */
export async function startOidcProvider(options: OidcProviderOptions): Promise<RunningOidcProvider> {
  const host = options.host ?? '127.0.0.1';
  const users = new Map(options.users.map((u) => [u.sub, { ...u }]));
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = createHash('sha256').update(randomBytes(16)).digest('hex').slice(0, 16);
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  let fault: IdTokenFault | undefined;
  let tokenCount = 0;

  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://${host}:${port}`;

  const rewriteIdToken = (token: string, f: IdTokenFault): string => {
    const [h, p, s] = token.split('.') as [string, string, string];
    let payload = p;
    let signature = s;
    if (f.claims) {
      const claims = f.claims(JSON.parse(Buffer.from(p, 'base64url').toString('utf8')));
      payload = b64url(JSON.stringify(claims));
      signature = b64url(sign('sha256', Buffer.from(`${h}.${payload}`), privateKey));
    }
    if (f.corruptSignature) {
      const bytes = Buffer.from(signature, 'base64url');
      bytes[0] = (bytes[0] ?? 0) ^ 0xff;
      signature = b64url(bytes);
    }
    return `${h}.${payload}.${signature}`;
  };

  const configuration: Configuration = {
    clients: options.clients.map(
      (c): ClientMetadata => ({
        ...c,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
      }),
    ),
    jwks: { keys: [jwk as never] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    pkce: { required: () => true },
    scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      groups: ['groups'],
    },
    // Claims of the granted scopes go in the ID token, as Entra ID, Okta and Keycloak can be set to do.
    conformIdTokenClaims: false,
    ttl: { IdToken: options.idTokenTtl ?? 3600, Session: 3600, Interaction: 600, Grant: 3600 },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => {
          ctx.body = page(
            'Sign out',
            `<h1>Sign out?</h1>${form}<button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>`,
          );
        },
        postLogoutSuccessSource: (ctx) => {
          ctx.body = page('Signed out', '<h1>Signed out</h1>');
        },
      },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // First-party test clients: consent is implied (no consent screen).
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const client = ctx.oidc.client;
      const session = ctx.oidc.session;
      if (!client || !session?.accountId) return undefined;
      const existing = ctx.oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
      if (existing) return ctx.oidc.provider.Grant.find(existing);
      const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope('openid email profile groups');
      await grant.save();
      return grant;
    },
    findAccount: (_ctx, sub) => {
      const user = users.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        claims: () => ({
          ...user.claims,
          sub,
          email: user.email,
          email_verified: true,
          name: user.name,
          groups: user.groups ?? [],
        }),
      };
    },
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page(
        'Error',
        `<h1>${escapeHtml(String(out.error))}</h1><p>${escapeHtml(String(out.error_description ?? ''))}</p>`,
      );
    },
  };

  const provider = new Provider(issuer, configuration);
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path !== '/token' || ctx.method !== 'POST' || ctx.status !== 200) return;
    tokenCount++;
    const body = ctx.body as { id_token?: string } | undefined;
    if (fault && body?.id_token) body.id_token = rewriteIdToken(body.id_token, fault);
  });
  const callback = provider.callback();

  const loginForm = (uid: string, error?: string): string =>
    page(
      'Sign in',
      `<h1>Sign in to the test provider</h1>${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
<label>Email or username <input name="login" type="text" autofocus required></label>
<label>Password <input name="password" type="password" required></label>
<button type="submit">Sign in</button>
</form>`,
    );

  const interaction = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const match = /^\/interaction\/([\w-]+)(\/login)?$/.exec(path);
    if (!match) return callback(req, res);
    const uid = match[1] as string;
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new Error('interaction mismatch');
    res.setHeader('cache-control', 'no-store');
    if (req.method === 'GET' && !match[2]) {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(loginForm(uid));
      return;
    }
    if (req.method !== 'POST' || !match[2]) {
      res.statusCode = 405;
      res.end();
      return;
    }
    const form = await readForm(req);
    const login = (form.get('login') ?? '').toLowerCase();
    const user = [...users.values()].find((u) => u.email.toLowerCase() === login || u.sub === login);
    if (!user || user.password !== form.get('password')) {
      res.statusCode = 200;
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(loginForm(uid, 'Invalid email or password.'));
      return;
    }
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: user.sub } },
      { mergeWithLastSubmission: false },
    );
  };

  handler = (req, res) => {
    const path = new URL(req.url ?? '/', issuer).pathname;
    if (!path.startsWith('/interaction/')) {
      callback(req, res);
      return;
    }
    interaction(req, res, path).catch((err: unknown) => {
      res.statusCode = 400;
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(page('Error', `<h1>${escapeHtml(err instanceof Error ? err.message : 'error')}</h1>`));
    });
  };

  return {
    issuer,
    users,
    setIdTokenFault: (f) => {
      fault = f;
    },
    tokenRequests: () => tokenCount,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** A cookie jar per origin (name → value), enough for the provider's and the RP's cookies. */
export class CookieJar {
  private readonly byOrigin = new Map<string, Map<string, string>>();

  store(url: string, res: Response): void {
    const origin = new URL(url).origin;
    const jar = this.byOrigin.get(origin) ?? new Map<string, string>();
    this.byOrigin.set(origin, jar);
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=thu, 01 jan 1970/i.test(a));
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  }

  header(url: string): string {
    const jar = this.byOrigin.get(new URL(url).origin);
    return jar ? [...jar].map(([k, v]) => `${k}=${v}`).join('; ') : '';
  }

  get(url: string, name: string): string | undefined {
    return this.byOrigin.get(new URL(url).origin)?.get(name);
  }
}

/**
 * Plays the browser from an authorization URL: follows redirects with a cookie jar, fills the login
 * form with `login`/`password` and stops at the first redirect to `stopAt` (the RP's redirect URI),
 * whose URL it returns (with `code` and `state`, or `error`). No RP code is involved.
 */
export async function signInAtProvider(
  authorizationUrl: string,
  credentials: { login: string; password: string },
  stopAt: string,
  jar = new CookieJar(),
): Promise<string> {
  let url = authorizationUrl;
  let init: RequestInit = { method: 'GET' };
  for (let hop = 0; hop < 20; hop++) {
    if (url.startsWith(stopAt)) return url;
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), cookie: jar.header(url) },
    });
    jar.store(url, res);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      url = new URL(location, url).toString();
      init = { method: 'GET' };
      continue;
    }
    const html = await res.text();
    const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
    if (res.status !== 200 || !action || !html.includes('name="password"') || init.method === 'POST') {
      throw new Error(
        `sign-in stopped at ${url} (HTTP ${res.status}): ${html
          .replace(/<[^>]+>/g, ' ')
          .trim()
          .slice(0, 200)}`,
      );
    }
    url = new URL(action, url).toString();
    init = {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(credentials).toString(),
    };
  }
  throw new Error('too many redirects');
}
