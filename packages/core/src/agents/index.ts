/** The agent registry and webhook dispatch. */
export {};
