import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../../api/test/harness.js';
import { DEMO_AGENT_NAME, DEMO_WORKFLOW_NAME, ensureDemoAgentKey, seedLivingDemo, startDemoAgent } from './demo.js';

/**
 * The living demo of `pnpm dev`, on the real stack (API, worker, mock providers): after seeding,
 * the five case-study alerts are enriched, delivered to the demo agent, and come back with its
 * findings; what is malicious waits for approval of the demo workflow.
 */
let h: Harness;
let dataDir: string;
beforeAll(async () => {
  h = await createHarness({ mockProviders: true, allowHosts: ['127.0.0.1'] });
  await h.startWorker();
  dataDir = await mkdtemp(path.join(tmpdir(), 'calseta-demo-'));
});
afterAll(async () => {
  await h.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('the pnpm dev demo', () => {
  it('seeds once, and the agent triages every case-study alert', async () => {
    const key = await ensureDemoAgentKey(h.deps, dataDir);
    expect(await ensureDemoAgentKey(h.deps, dataDir)).toBe(key);
    const lines: string[] = [];
    let allHandled: () => void = () => undefined;
    const handled = new Promise<void>((resolve) => {
      allHandled = resolve;
    });
    const demo = await startDemoAgent(h.baseUrl, key, (line) => {
      lines.push(line);
      if (lines.length === 5) allHandled();
    });
    try {
      const seeded = await seedLivingDemo(h.deps, demo.agent.url, dataDir, demo.setSecret);
      expect(seeded?.match(/^alert /gm)).toHaveLength(5);
      await handled;
      expect(lines.filter((l) => l.includes('finding posted'))).toHaveLength(5);

      const alerts = (await h.request('GET', '/v1/alerts?page_size=50')).body.data as { uuid: string }[];
      expect(alerts).toHaveLength(5);
      for (const { uuid } of alerts) {
        const alert = (await h.request('GET', `/v1/alerts/${uuid}`)).body.data;
        expect(alert.agent_findings.map((f: { agent_name: string }) => f.agent_name)).toEqual([DEMO_AGENT_NAME]);
        expect(alert.detection_rule.documentation).toMatch(/## Goal/);
      }
      const workflows = (await h.request('GET', '/v1/workflows?page_size=500')).body.data as {
        uuid: string;
        name: string;
      }[];
      const demoWorkflow = workflows.find((w) => w.name === DEMO_WORKFLOW_NAME);
      const approvals = await h.request('GET', `/v1/workflow-approvals?workflow_uuid=${demoWorkflow?.uuid}`);
      expect(approvals.body.data.length).toBe(lines.filter((l) => l.includes('pending_approval')).length);
      expect(approvals.body.data.length).toBeGreaterThan(0);

      // A restart: same agent (new secret, new address), no second seeding.
      let rotated = '';
      expect(await seedLivingDemo(h.deps, demo.agent.url, dataDir, (s) => (rotated = s))).toBeNull();
      expect(rotated).toMatch(/^[0-9a-f]{64}$/);
      const agents = (await h.request('GET', '/v1/agents')).body.data as { name: string }[];
      expect(agents.filter((a) => a.name === DEMO_AGENT_NAME)).toHaveLength(1);
    } finally {
      await demo.agent.close();
    }
  });
});
