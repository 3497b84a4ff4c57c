import { describe, expect, it } from 'vitest';
import {
  encodeComponent,
  parseTemplate,
  renderJson,
  renderTemplate,
  TemplateError,
  type TemplateErrorCode,
  type TemplateScope,
} from './template.js';

const scope: TemplateScope = {
  indicator: { type: 'url', value: 'https://evil.example.com/payload/stage2.ps1' },
  auth: { api_key: 'sk-LIVE-1234567890', base_url: 'https://intel.acme.test:8443/root', domain: 'acme.okta.com' },
  steps: {
    first: { data: { id: 'u/42', tags: ['a', 'b'], count: 7, enabled: true, nothing: null }, items: [{ name: 'x' }] },
    wrapped: { response: { id: 'inner' } },
  },
};

const url = (template: string, s: TemplateScope = scope) => renderTemplate(template, s, { position: 'url' });
const text = (template: string, s: TemplateScope = scope) => renderTemplate(template, s, { position: 'text' });

function codeOf(fn: () => unknown): TemplateErrorCode | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof TemplateError) return error.code;
    throw error;
  }
  return undefined;
}

describe('variables', () => {
  it('substitutes indicator value and type, with the reference shorthands', () => {
    expect(text('{{indicator.value}}|{{indicator.type}}')).toBe('https://evil.example.com/payload/stage2.ps1|url');
    expect(text('{{value}}/{{type}}')).toBe('https://evil.example.com/payload/stage2.ps1/url');
  });

  it('tolerates whitespace inside the braces', () => {
    expect(text('{{   indicator.type   }}')).toBe('url');
    expect(text('{{ auth.domain|upper }}')).toBe('ACME.OKTA.COM');
  });

  it('reads credentials from auth', () => {
    expect(text('SSWS {{auth.api_key}}')).toBe('SSWS sk-LIVE-1234567890');
  });

  it('reads earlier step bodies by dot path, including array indexes', () => {
    expect(text('{{steps.first.data.id}}')).toBe('u/42');
    expect(text('{{steps.first.items.0.name}}')).toBe('x');
    expect(text('{{steps.first.items[0].name}}')).toBe('x');
    expect(text('{{steps.first.data.tags.1}}')).toBe('b');
  });

  it('accepts the reference spelling steps.<name>.response.<path>', () => {
    expect(text('{{steps.first.response.data.id}}')).toBe('u/42');
  });

  it('does not strip "response." when the body really has a response key', () => {
    expect(text('{{steps.wrapped.response.id}}')).toBe('inner');
  });

  it('stringifies numbers, booleans, lists and objects', () => {
    expect(text('{{steps.first.data.count}}-{{steps.first.data.enabled}}')).toBe('7-true');
    expect(text('{{steps.first.data.tags}}')).toBe('["a","b"]');
    expect(text('{{steps.first.items.0}}')).toBe('{"name":"x"}');
  });

  it('leaves literal text alone', () => {
    expect(text('no placeholders: } { $select=id')).toBe('no placeholders: } { $select=id');
  });
});

describe('errors instead of empty strings', () => {
  it.each([
    ['{{indicator.name}}', 'unknown_variable'],
    ['{{foo}}', 'unknown_variable'],
    ['{{auth}}', 'unknown_variable'],
    ['{{auth.api-key}}', 'unknown_variable'],
    ['{{env.HOME}}', 'unknown_variable'],
    ['{{value | shout}}', 'unknown_filter'],
    ['{{value | }}', 'syntax'],
    ['{{ }}', 'syntax'],
    ['https://x/{{value', 'syntax'],
    ['{{auth.password}}', 'missing_credential'],
    ['{{steps.second.id}}', 'missing_value'],
    ['{{steps.first.data.missing}}', 'missing_value'],
    ['{{steps.first.data.nothing}}', 'missing_value'],
    ['{{steps.first.data.tags.9}}', 'missing_value'],
  ] as const)('%s → %s', (template, code) => {
    expect(codeOf(() => text(template))).toBe(code);
  });

  it('names the variable in the message', () => {
    expect(() => text('{{auth.password}}')).toThrow("credential 'auth.password' is not configured");
    expect(() => text('{{indicator.name}}')).toThrow("unknown template variable 'indicator.name'");
  });
});

describe('URL position', () => {
  it('percent-encodes substituted values as a component by default (even / : @)', () => {
    expect(url('https://api.test/v1/urls/{{indicator.value}}')).toBe(
      'https://api.test/v1/urls/https%3A%2F%2Fevil.example.com%2Fpayload%2Fstage2.ps1',
    );
    const s = { ...scope, indicator: { type: 'account', value: "a/b c@d:e?f&g=h#i!'()*~._-" } };
    expect(url('https://x/{{value}}', s)).toBe('https://x/a%2Fb%20c%40d%3Ae%3Ff%26g%3Dh%23i%21%27%28%29%2A~._-');
  });

  it('does not encode the literal parts of the template', () => {
    expect(url('https://graph.test/v1.0/users/{{value}}?$select=id,mail')).toContain('?$select=id,mail');
  });

  it('| raw inserts verbatim, so a template can take its base URL from auth', () => {
    const s = { ...scope, indicator: { type: 'ip', value: '185.220.101.32' } };
    expect(url('{{auth.base_url | raw}}/api/v1/ip/{{indicator.value}}', s)).toBe(
      'https://intel.acme.test:8443/root/api/v1/ip/185.220.101.32',
    );
  });

  it('| urlencode encodes exactly once', () => {
    const s = { ...scope, indicator: { type: 'account', value: 'j doe@corp.com' } };
    expect(url('https://x/users/{{indicator.value | urlencode}}', s)).toBe('https://x/users/j%20doe%40corp.com');
  });

  it('| base64url gives the unpadded URL-safe form (VirusTotal URL ids)', () => {
    expect(url('https://www.virustotal.com/api/v3/urls/{{indicator.value | base64url}}')).toBe(
      'https://www.virustotal.com/api/v3/urls/aHR0cHM6Ly9ldmlsLmV4YW1wbGUuY29tL3BheWxvYWQvc3RhZ2UyLnBzMQ',
    );
    const s = { ...scope, indicator: { type: 'url', value: 'http://example.com/path?x=1' } };
    expect(url('{{value | base64url}}', s)).toBe('aHR0cDovL2V4YW1wbGUuY29tL3BhdGg_eD0x');
  });

  it('encodes after other filters unless an encoding filter was given', () => {
    const s = { ...scope, indicator: { type: 'account', value: '  J Doe  ' } };
    expect(url('{{value | trim | lower}}', s)).toBe('j%20doe');
  });
});

describe('text position and filters', () => {
  it('does not encode by default', () => {
    expect(text('{{indicator.value}}')).toBe('https://evil.example.com/payload/stage2.ps1');
  });

  it('applies filters left to right', () => {
    const s = { ...scope, indicator: { type: 'account', value: ' User:Pass ' } };
    expect(text('{{value | trim | lower | base64}}', s)).toBe('dXNlcjpwYXNz');
    expect(text('{{value | urlencode}}', s)).toBe('%20User%3APass%20');
    expect(text('{{value | upper}}', s)).toBe(' USER:PASS ');
    expect(text('{{value | raw}}', s)).toBe(' User:Pass ');
  });

  it('base64url is unpadded, base64 is padded', () => {
    const s = { ...scope, indicator: { type: 'account', value: 'ab' } };
    expect(text('{{value | base64url}} {{value | base64}}', s)).toBe('YWI YWI=');
  });
});

describe('masking', () => {
  it('replaces every auth value with *** whatever its filters and position', () => {
    const masked = renderTemplate('{{auth.base_url | raw}}/x?k={{auth.api_key}}&b={{auth.api_key | base64}}', scope, {
      position: 'url',
      mask: true,
    });
    expect(masked).toBe('***/x?k=***&b=***');
    expect(renderTemplate('Bearer {{auth.api_key}}', scope, { position: 'text', mask: true })).toBe('Bearer ***');
  });

  it('does not mask the indicator or step values', () => {
    expect(renderTemplate('{{type}}:{{steps.first.data.count}}', scope, { position: 'text', mask: true })).toBe(
      'url:7',
    );
  });
});

describe('renderJson', () => {
  it('keeps the JSON type of a string that is exactly one placeholder', () => {
    const body = renderJson(
      { ids: '{{steps.first.data.tags}}', n: '{{ steps.first.data.count }}', s: 'id={{steps.first.data.count}}' },
      scope,
    );
    expect(body).toEqual({ ids: ['a', 'b'], n: 7, s: 'id=7' });
  });

  it('renders nested arrays and objects, leaves non-strings and keys alone', () => {
    expect(renderJson({ '{{value}}': [1, null, { q: '{{type}}' }], ok: true }, scope)).toEqual({
      '{{value}}': [1, null, { q: 'url' }],
      ok: true,
    });
  });

  it('a filtered single placeholder renders to text', () => {
    expect(renderJson('{{steps.first.data.count | raw}}', scope)).toBe('7');
  });

  it('masks credentials', () => {
    expect(renderJson({ key: '{{auth.api_key}}', h: 'Basic {{auth.api_key}}' }, scope, { mask: true })).toEqual({
      key: '***',
      h: 'Basic ***',
    });
  });

  it('propagates template errors', () => {
    expect(() => renderJson({ a: ['{{nope}}'] }, scope)).toThrow(TemplateError);
  });
});

describe('parseTemplate / encodeComponent', () => {
  it('tokenizes text and placeholders', () => {
    const tokens = parseTemplate('a{{value}}b{{auth.k | raw}}');
    expect(tokens).toHaveLength(4);
    expect(tokens[1]).toMatchObject({ ref: { ns: 'indicator', key: 'value' }, filters: [] });
    expect(tokens[3]).toMatchObject({ ref: { ns: 'auth', key: 'k' }, filters: ['raw'] });
  });

  it('parses a template once and shares the frozen tokens; a bad one fails every time', () => {
    const template = 'https://x.test/{{value}}?k={{auth.api_key | raw}}';
    const tokens = parseTemplate(template);
    expect(parseTemplate(template)).toBe(tokens);
    const placeholder = tokens[1] as Exclude<(typeof tokens)[number], string>;
    expect(() => (tokens as unknown as string[]).push('x')).toThrow(TypeError);
    expect(() => (placeholder.filters as string[]).push('raw')).toThrow(TypeError);
    expect(() => Object.assign(placeholder.ref, { key: 'type' })).toThrow(TypeError);
    expect(url(template)).toBe(`https://x.test/${encodeComponent(scope.indicator.value)}?k=sk-LIVE-1234567890`);
    expect(url(template)).toBe(url(template));
    for (let i = 0; i < 2; i++) expect(() => parseTemplate('{{value')).toThrow(TemplateError);
    // Past the kept length, every call parses (nothing held for it).
    const long = `${'a'.repeat(3000)}{{value}}`;
    expect(parseTemplate(long)).not.toBe(parseTemplate(long));
  });

  it('encodes everything but RFC 3986 unreserved characters', () => {
    expect(encodeComponent("AZaz09-._~!*'() /?#[]@$&+,;=%")).toBe(
      'AZaz09-._~%21%2A%27%28%29%20%2F%3F%23%5B%5D%40%24%26%2B%2C%3B%3D%25',
    );
    expect(encodeComponent('müller')).toBe('m%C3%BCller');
  });

  it('rejects lone surrogates with a TemplateError', () => {
    expect(() => encodeComponent('\uD800')).toThrow(TemplateError);
  });
});

describe('dot segments in URL paths', () => {
  const dots = (value: string): TemplateScope => ({ ...scope, indicator: { type: 'account', value } });
  const url = 'https://okta.test/api/v1/users/{{indicator.value}}';

  it.each(['.', '..'])('refuses %s as a whole path value: a URL parser would drop the segment', (value) => {
    const error = (() => {
      try {
        renderTemplate(url, dots(value), { position: 'url' });
      } catch (caught) {
        return caught;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(TemplateError);
    expect((error as TemplateError).code).toBe('unsafe_value' satisfies TemplateErrorCode);
    // What would have been requested: the collection, not a user.
    expect(new URL(`https://okta.test/api/v1/users/${value}`).pathname).toBe(
      value === '.' ? '/api/v1/users/' : '/api/v1/',
    );
  });

  it('refuses encoded dot segments passed raw, and keeps dots that are not a whole value', () => {
    const raw = 'https://okta.test/api/v1/users/{{indicator.value | raw}}';
    expect(() => renderTemplate(raw, dots('%2e%2E'), { position: 'url' })).toThrow(TemplateError);
    expect(() => renderTemplate(raw, dots('.%2e'), { position: 'url' })).toThrow(TemplateError);
    expect(renderTemplate(url, dots('j.doe'), { position: 'url' })).toBe('https://okta.test/api/v1/users/j.doe');
    expect(renderTemplate(url, dots('...'), { position: 'url' })).toBe('https://okta.test/api/v1/users/...');
    // `%2e` typed by an attacker is encoded as `%252e`: a value, not a segment.
    expect(renderTemplate(url, dots('%2e'), { position: 'url' })).toBe('https://okta.test/api/v1/users/%252e');
  });

  it('a dot value in the query or in a header is only a value', () => {
    expect(renderTemplate('https://a.test/check?ip={{indicator.value}}', dots('..'), { position: 'url' })).toBe(
      'https://a.test/check?ip=..',
    );
    expect(renderTemplate('{{indicator.value}}', dots('..'), { position: 'text' })).toBe('..');
  });
});
