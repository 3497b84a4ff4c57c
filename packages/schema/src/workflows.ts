/** Workflows, code versions and runs: request and response schemas. */
export {};
