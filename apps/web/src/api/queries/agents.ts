import type { Agent, AgentListItem, AgentRun, AgentRunDetail } from '@calseta/schema';
import type { Page } from '../client.js';
import { resource } from './resource.js';

const agents = resource<AgentListItem, Agent>('agents');
export const agentQueries = {
  ...agents,
  deliveries: (uuid: string) => agents.sub<Page<AgentRun>>(uuid, 'runs', { page_size: 50 }),
};

/** One webhook delivery, with its attempts. */
export const agentRunQueries = resource<AgentRun, AgentRunDetail>('agent-runs');
