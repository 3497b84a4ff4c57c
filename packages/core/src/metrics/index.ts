/** Metrics, findings and the relationship graph. */
export {};
