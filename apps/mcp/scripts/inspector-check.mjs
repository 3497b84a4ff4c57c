#!/usr/bin/env node
// An independent MCP client against a running Calseta MCP server: the official MCP Inspector's CLI
// (2.12) lists the tools with its schema-portability check (`--strict`) and calls one. Exits
// non-zero when either fails or any tool schema has a portability error or warning.
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
    [
      inspector,
      '--cli',
      url,
      '--transport',
      'http',
      '--header',
      `Authorization: Bearer ${key}`,
      '--connect-timeout',
      '60000',
      '--format',
      'json',
      ...args,
    ],
    { timeout: 90_000, maxBuffer: 16 * 1024 * 1024 },
  );
  return JSON.parse(stdout);
}

// `--strict` puts every schema-portability finding (errors and warnings) in `schemaFindings`.
const listed = await inspect('--method', 'tools/list', '--strict');
const names = listed.result.tools.map((t) => t.name).sort();
process.stdout.write(`tools/list: ${names.length} tools (${names.join(', ')})\n`);
if (!names.includes('search_alerts')) throw new Error('search_alerts is not listed');
const findings = (listed.schemaFindings ?? []).flatMap(({ toolName, findings }) =>
  findings.map((f) => ({ toolName, ...f })),
);
const errors = findings.filter((f) => f.severity === 'error').length;
process.stdout.write(`schema portability: ${errors} errors, ${findings.length - errors} warnings\n`);
for (const f of findings) process.stdout.write(`  ${f.severity}: ${f.toolName} ${f.schema}${f.path}: ${f.issue}\n`);
if (findings.length > 0) process.exitCode = 1;

const { result: called } = await inspect(
  '--method',
  'tools/call',
  '--tool-name',
  'search_alerts',
  '--tool-arg',
  'page_size=5',
);
if (called.isError) throw new Error(`search_alerts failed: ${JSON.stringify(called.content)}`);
const { total, alerts } = called.structuredContent;
process.stdout.write(`tools/call search_alerts: ${alerts.length} of ${total} alert(s)\n`);
