import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';
import { type Recorder, startRecorder } from './recorder.js';

// Audit finding (docs/security.md): `PATCH /v1/agents/{uuid}` with a new `endpoint_url` kept the sealed
// auth header and sent it to the new host. Real agent endpoints record the headers they receive.

const SECRET = 'Bearer live-agent-credential-3b1f';
let h: Harness;
let home: Recorder;
let elsewhere: Recorder;
let writer: string;

beforeAll(async () => {
  home = await startRecorder();
  elsewhere = await startRecorder();
  h = await createHarness({ allowHosts: [home.host, elsewhere.host] });
  writer = await h.createKey({ scopes: ['agents:write', 'agents:read'] });
});
afterAll(async () => {
  await h?.close();
  await home?.close();
  await elsewhere?.close();
});

async function register(): Promise<string> {
  const res = await h.request('POST', '/v1/agents', {
    key: writer,
    json: {
      name: `agent ${crypto.randomUUID()}`,
      endpoint_url: `${home.url}/hook`,
      auth_header_name: 'Authorization',
      auth_header_value: SECRET,
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.data.uuid;
}

/** Send a test delivery and return the headers the endpoint received. */
async function deliver(uuid: string, to: Recorder) {
  const from = to.received.length;
  const res = await h.request('POST', `/v1/agents/${uuid}/test`, { key: writer });
  expect(res.status).toBe(200);
  expect(res.body.data.delivered, JSON.stringify(res.body)).toBe(true);
  return (await to.next(() => true, from)).headers;
}

const patch = (uuid: string, json: Record<string, unknown>) =>
  h.request('PATCH', `/v1/agents/${uuid}`, { key: writer, json });

describe('agent auth header and a changed endpoint', () => {
  it('moving the endpoint to another origin (here: another port) drops the stored header: the new host never receives it', async () => {
    const uuid = await register();
    expect((await deliver(uuid, home)).authorization).toBe(SECRET);

    const moved = await patch(uuid, { endpoint_url: `${elsewhere.url}/collect` });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    expect(moved.body.data).toMatchObject({ has_auth_header: false, auth_header_name: null });
    expect((await deliver(uuid, elsewhere)).authorization).toBeUndefined();
    expect(JSON.stringify(elsewhere.received)).not.toContain('live-agent-credential');
    const [row] = await h.query<{ auth_header_value_encrypted: string | null }>(
      'SELECT auth_header_value_encrypted FROM agent_registrations WHERE uuid = $1',
      [uuid],
    );
    expect(row?.auth_header_value_encrypted).toBeNull();
  });

  it('a new header given with the move is kept; a path change on the same origin keeps the header', async () => {
    const uuid = await register();
    const samePlace = await patch(uuid, { endpoint_url: `${home.url}/v2/hook` });
    expect(samePlace.body.data.has_auth_header).toBe(true);
    expect((await deliver(uuid, home)).authorization).toBe(SECRET);

    const moved = await patch(uuid, {
      endpoint_url: `${elsewhere.url}/collect`,
      auth_header_name: 'X-Agent-Token',
      auth_header_value: 'for-the-new-host',
    });
    expect(moved.body.data).toMatchObject({ has_auth_header: true, auth_header_name: 'X-Agent-Token' });
    const headers = await deliver(uuid, elsewhere);
    expect(headers['x-agent-token']).toBe('for-the-new-host');
    expect(headers.authorization).toBeUndefined();
  });
});
