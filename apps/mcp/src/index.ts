/** @calseta/mcp — the MCP server over core. */
export {};
