/** Metrics, findings and the relationship graph: request and response schemas. */
export {};
