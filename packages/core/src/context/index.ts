/** Detection rules and context documents. */
export {};
