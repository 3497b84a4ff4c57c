/** Detection rules and context documents: request and response schemas. */
export {};
