/**
 * Guest-side prelude: evaluated (as a global script) in every fresh QuickJS context before the
 * workflow module. Its completion value is a function the host calls once with the single host
 * binding and the run's setup JSON; the binding is only ever a closure variable here — it is never
 * put on the global object, so workflow code cannot reach it. The function builds `ctx`, installs
 * the `WorkflowResult` and `console` globals (read-only), and returns the runner the host calls with
 * the module's evaluation promise. The runner reports a JSON envelope through the binding's 'done'
 * operation (once); the host treats that envelope as untrusted.
 *
 * Everything the prelude needs from the realm is captured before any workflow code runs, so a
 * workflow that replaces `JSON.stringify` or `Object.freeze` only breaks itself.
 */
export const PRELUDE_SOURCE = `(function (host, setupJson) {
  'use strict';
  const parse = JSON.parse;
  const stringify = JSON.stringify;
  const freeze = Object.freeze;
  const keys = Object.keys;
  const create = Object.create;
  const defineProperty = Object.defineProperty;
  const isArray = Array.isArray;
  const apply = Reflect.apply;
  const StringOf = String;
  const then = Promise.prototype.then;
  const resolved = Promise.resolve.bind(Promise);
  const brands = new WeakSet();
  const brandAdd = WeakSet.prototype.add;
  const brandHas = WeakSet.prototype.has;
  const global = globalThis;
  const setup = parse(setupJson);

  function deepFreeze(value) {
    if (value !== null && typeof value === 'object') {
      const names = keys(value);
      for (let i = 0; i < names.length; i++) deepFreeze(value[names[i]]);
      freeze(value);
    }
    return value;
  }
  function call(op, payload) {
    const out = host(op, stringify(payload));
    return out === undefined ? undefined : parse(out);
  }
  function callAsync(op, payload) {
    return apply(then, host(op, stringify(payload)), [function (out) { return out === undefined ? undefined : parse(out); }]);
  }
  function text(value) {
    if (typeof value === 'string') return value;
    if (value instanceof Error) return StringOf(value.name) + ': ' + StringOf(value.message);
    if (value === undefined) return 'undefined';
    try { const s = stringify(value); return s === undefined ? StringOf(value) : s; } catch (e) { return StringOf(value); }
  }
  function describe(error) {
    if (error !== null && typeof error === 'object' && 'message' in error) {
      return { name: StringOf(error.name === undefined ? 'Error' : error.name), message: StringOf(error.message),
        stack: typeof error.stack === 'string' ? error.stack : '' };
    }
    return { name: 'Error', message: text(error), stack: '' };
  }
  function typeName(value) {
    if (value === null) return 'null';
    if (isArray(value)) return 'array';
    return typeof value;
  }

  // --- WorkflowResult -------------------------------------------------------------------------
  function makeResult(success, message, data) {
    const result = freeze({
      success: success,
      message: message === undefined ? (success ? 'OK' : 'Workflow failed') : text(message),
      data: data === undefined ? {} : data,
    });
    apply(brandAdd, brands, [result]);
    return result;
  }
  const WorkflowResult = freeze({
    ok: function ok(message, data) { return makeResult(true, message, data); },
    fail: function fail(message, data) { return makeResult(false, message, data); },
  });

  // --- ctx.log / console ----------------------------------------------------------------------
  function logger(level) {
    return function (message, extra) {
      const entry = { level: level, message: text(message) };
      if (extra !== undefined) entry.extra = extra;
      call('log', entry);
    };
  }
  const log = logger('info');
  log.debug = logger('debug');
  log.info = logger('info');
  log.warn = logger('warn');
  log.warning = log.warn;
  log.error = logger('error');
  freeze(log);
  function consoleLogger(level) {
    const emit = logger(level);
    return function () {
      let line = '';
      for (let i = 0; i < arguments.length; i++) line += (i === 0 ? '' : ' ') + text(arguments[i]);
      emit(line);
    };
  }
  const console = freeze({ log: consoleLogger('info'), info: consoleLogger('info'), debug: consoleLogger('debug'),
    warn: consoleLogger('warn'), error: consoleLogger('error') });

  // --- ctx.http -------------------------------------------------------------------------------
  function wrapResponse(raw) {
    const body = raw.text;
    return freeze({
      status: raw.status,
      ok: raw.status >= 200 && raw.status < 300,
      headers: freeze(raw.headers),
      text: body,
      json: function json() { return parse(body); },
    });
  }
  function request(method, url, options) {
    const o = options === undefined || options === null ? {} : options;
    const req = { method: method, url: StringOf(url) };
    if (o.headers !== undefined) req.headers = o.headers;
    if (o.params !== undefined) req.params = o.params;
    if (o.json !== undefined) {
      req.body = stringify(o.json);
      req.json = true;
    } else if (o.body !== undefined && o.body !== null) {
      if (typeof o.body !== 'string') throw new TypeError('ctx.http: body must be a string (use json for objects)');
      req.body = o.body;
    }
    return apply(then, callAsync('http', req), [wrapResponse]);
  }
  const http = freeze({
    request: function (options) {
      const o = options === undefined || options === null ? {} : options;
      return request(StringOf(o.method === undefined ? 'GET' : o.method).toUpperCase(), o.url, o);
    },
    get: function (url, options) { return request('GET', url, options); },
    post: function (url, options) { return request('POST', url, options); },
    put: function (url, options) { return request('PUT', url, options); },
    patch: function (url, options) { return request('PATCH', url, options); },
    delete: function (url, options) { return request('DELETE', url, options); },
  });

  // --- ctx.secrets / ctx.integrations ---------------------------------------------------------
  const secrets = create(null);
  secrets.get = function get(name) { return call('secret', { name: StringOf(name) }); };
  freeze(secrets);

  const integrations = create(null);
  const integrationNames = keys(setup.integrations);
  for (let i = 0; i < integrationNames.length; i++) {
    const name = integrationNames[i];
    const methods = setup.integrations[name];
    if (methods === null) { integrations[name] = null; continue; }
    const client = create(null);
    for (let j = 0; j < methods.length; j++) {
      const method = methods[j];
      client[method] = function () {
        const args = [];
        for (let k = 0; k < arguments.length; k++) args[k] = arguments[k] === undefined ? null : arguments[k];
        return callAsync('integration', { name: name, method: method, args: args });
      };
    }
    integrations[name] = freeze(client);
  }
  freeze(integrations);

  // --- ctx ------------------------------------------------------------------------------------
  const ctx = create(null);
  const contextKeys = keys(setup.context);
  for (let i = 0; i < contextKeys.length; i++) ctx[contextKeys[i]] = deepFreeze(setup.context[contextKeys[i]]);
  if (!('indicator' in ctx)) ctx.indicator = null;
  if (!('alert' in ctx)) ctx.alert = null;
  ctx.http = http;
  ctx.log = log;
  ctx.secrets = secrets;
  ctx.integrations = integrations;
  freeze(ctx);

  defineProperty(global, 'WorkflowResult', { value: WorkflowResult, writable: false, enumerable: false, configurable: false });
  defineProperty(global, 'console', { value: console, writable: false, enumerable: false, configurable: false });

  // --- runner ---------------------------------------------------------------------------------
  // The outcome is handed to the host through the binding ('done'), never by resolving a promise
  // with another one: that would look up a (replaceable) 'then' and let a workflow stall its own
  // report. Callbacks are chained with the captured 'then'.
  function done(value) { host('done', stringify(value)); }
  function onResult(result) {
    if (result === null || typeof result !== 'object' || !apply(brandHas, brands, [result])) {
      return done({ kind: 'bad_return', type: typeName(result) });
    }
    let out;
    try {
      out = stringify({ success: result.success, message: result.message, data: result.data });
    } catch (error) {
      return done({ kind: 'not_serialisable', error: describe(error) });
    }
    done({ kind: 'result', result: out });
  }
  function onRunError(error) { done({ kind: 'exception', error: describe(error) }); }
  function onModule(namespace) {
    const run = namespace.run;
    if (typeof run !== 'function') return done({ kind: 'no_run' });
    let started;
    try {
      started = run(ctx);
    } catch (error) {
      return onRunError(error);
    }
    apply(then, resolved(started), [onResult, onRunError]);
  }
  function onLoadError(error) { done({ kind: 'load', error: describe(error) }); }
  return function runner(modulePromise) {
    apply(then, resolved(modulePromise), [onModule, onLoadError]);
  };
})`;

/**
 * The prelude as evaluated: comment lines and indentation dropped (QuickJS compiles it on every run,
 * roughly in proportion to its length; line breaks are kept, so automatic semicolon insertion is
 * unchanged). Evaluated in QuickJS "strip" mode: no source text or debug info kept for it either.
 */
export const PRELUDE_COMPACT = PRELUDE_SOURCE.split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('//'))
  .join('\n');
