#!/usr/bin/env node
// An independent MCP client against a running Calseta MCP server: the official MCP Inspector's CLI
// lists the tools and calls one. Exits non-zero when either fails.
//
//   node apps/mcp/scripts/inspector-check.mjs [url] [api-key]
//   (defaults: http://localhost:8001/mcp and the key in .calseta/admin-key, as `pnpm dev` writes it)
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const inspectorDir = path.dirname(require.resolve('@modelcontextprotocol/inspector/package.json'));
const inspector = path.join(inspectorDir, require('@modelcontextprotocol/inspector/package.json').bin['mcp-inspector']);

const url = process.argv[2] ?? 'http://localhost:8001/mcp';
const key = process.argv[3] ?? readFileSync(path.resolve('.calseta/admin-key'), 'utf8').trim();

async function inspect(...args) {
  const { stdout } = await run(
    process.execPath,
    [inspector, '--cli', url, '--transport', 'http', '--header', `Authorization: Bearer ${key}`, ...args],
    { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
  );
  return JSON.parse(stdout);
}

const listed = await inspect('--method', 'tools/list');
const names = listed.tools.map((t) => t.name).sort();
process.stdout.write(`tools/list: ${names.length} tools (${names.join(', ')})\n`);
if (!names.includes('search_alerts')) throw new Error('search_alerts is not listed');

const called = await inspect('--method', 'tools/call', '--tool-name', 'search_alerts', '--tool-arg', 'page_size=5');
if (called.isError) throw new Error(`search_alerts failed: ${JSON.stringify(called.content)}`);
const { total, alerts } = called.structuredContent;
process.stdout.write(`tools/call search_alerts: ${alerts.length} of ${total} alert(s)\n`);
