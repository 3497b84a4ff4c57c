/** Workflows: CRUD, code versions, execution in the sandbox, runs. */
export {};
