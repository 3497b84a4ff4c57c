/**
 * Secret values a workflow read (a token in a URL it called, a header it logged) must not come back
 * in what a run returns or stores. Every string of the value — object keys too — has each declared
 * secret's value replaced by `[secret NAME]`, as written and as URL-encoded (query strings, paths).
 * Cost: one split/join per secret form per string, linear in the text.
 */
export function redactSecrets<T>(value: T, secrets: Readonly<Record<string, string>>): T {
  const forms: [string, string][] = [];
  for (const [name, secret] of Object.entries(secrets)) {
    if (!secret) continue;
    const label = `[secret ${name}]`;
    for (const form of new Set([
      secret,
      encodeURIComponent(secret),
      new URLSearchParams({ s: secret }).toString().slice(2),
    ])) {
      forms.push([form, label]);
    }
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
