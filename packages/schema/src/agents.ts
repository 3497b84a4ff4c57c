/** Agents, deliveries (agent runs) and dispatch: request and response schemas. */
export {};
