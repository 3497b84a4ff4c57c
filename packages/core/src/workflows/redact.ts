/**
 * Secret values a workflow read (a token in a URL it called, a header it logged) must not come back
 * in what a run returns or stores. Every string of the value — object keys too — has each declared
 * secret's value replaced by `[secret NAME]`, as written and as URL encodings write it (query, path).
 * Cost: one split/join per secret form per string, linear in the text.
 */
export function redactSecrets<T>(value: T, secrets: Readonly<Record<string, string>>): T {
  const forms: [string, string][] = [];
  for (const [name, secret] of Object.entries(secrets)) {
    if (!secret) continue;
    const label = `[secret ${name}]`;
    for (const form of encodings(secret)) forms.push([form, label]);
  }
  if (forms.length === 0) return value;
  // Longest first: a secret that contains another is replaced whole.
  forms.sort((a, b) => b[0].length - a[0].length);
  const text = (s: string) =>
    forms.reduce((out, [form, label]) => (out.includes(form) ? out.split(form).join(label) : out), s);
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return text(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [text(k), walk(item)]));
    }
    return v;
  };
  return walk(value) as T;
}

/** A value as written, and as each URL encoding writes it (component, form, WHATWG query and path). */
function encodings(secret: string): Set<string> {
  const url = new URL('http://x/');
  url.pathname = `/${secret}`;
  const path = url.pathname.slice(1);
  url.search = `?${secret}`;
  return new Set([
    secret,
    encodeURIComponent(secret),
    new URLSearchParams({ s: secret }).toString().slice(2),
    url.search.slice(1),
    path,
  ]);
}
