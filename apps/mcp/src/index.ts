/** @calseta/mcp — the MCP server over core. */
export { createApp } from './app.js';
export { buildMcpServer, errorMessage, SERVER_NAME } from './server.js';
export { McpSessions } from './sessions.js';
export { serveStdio } from './stdio.js';
