import { type Page, PERMISSIONS, type Permission, type ServiceContext, ServiceError } from '@calseta/core';
import { PageQuerySchema } from '@calseta/schema';
import { type CallToolResult, ErrorCode, McpError, type ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

/**
 * The shapes every tool and resource module fills, and the few helpers they share: a tool or
 * resource maps its arguments to one core verb and shapes the answer; permissions, refusals,
 * audit and error text are applied once, by the server (server.ts), from these declarations.
 */

type ToolAnnotations = { readOnlyHint?: boolean; destructiveHint?: boolean };

export interface ToolDefinition<I extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  description: string;
  inputSchema: I;
  /** A shape, not a schema: a schema with a registered id would become a `$ref`, and MCP wants `type: "object"`. */
  outputSchema: z.ZodRawShape;
  annotations?: ToolAnnotations;
  /** Every permission the tool needs (core's scope table says which scopes grant each). */
  permissions: readonly Permission[];
  /**
   * The REST operation this call is the twin of (`[method, route pattern]`), so core's one table
   * (`rateLimitClassOf`) gives it the same rate-limit class; absent, `authenticated`.
   */
  restTwin?: (args: Record<string, unknown>) => readonly [method: string, route: string] | undefined;
  /** A write: the uuid it changed, for its `api_write` audit row (as REST audits its writes). */
  writes?: (args: z.infer<z.ZodObject<I>>) => string;
  run(ctx: ServiceContext, args: z.infer<z.ZodObject<I>>): Promise<object>;
}

/** A tool, typed by its own input shape where it is written. */
export const defineTool = <I extends z.ZodRawShape>(tool: ToolDefinition<I>) => tool as unknown as ToolDefinition;

export type Variables = Record<string, string | string[]>;

export interface ResourceDefinition {
  name: string;
  /** A fixed URI, or a URI template (`calseta://alerts/{uuid}`). */
  uri: string;
  description: string;
  permissions: readonly Permission[];
  /** A template's instances for resources/list; absent, the template lists none. */
  list?: (ctx: ServiceContext) => Promise<{ uri: string; name: string }[]>;
  read(ctx: ServiceContext, variables: Variables): Promise<unknown>;
}

/** One value of a URI template variable. */
export function variable(value: string | string[] | undefined): string {
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

/** Page sizes the MCP resources ask core for. */
export const LIST_LIMIT = 50;
export const CATALOGUE_LIMIT = 500;

/** A readable message for anything a verb or its validation threw. */
export function errorMessage(error: unknown): string {
  if (error instanceof ServiceError) return `${error.code}: ${error.message}`;
  if (error instanceof z.ZodError) {
    return `VALIDATION_ERROR: ${error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ')}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** A refused resource read or subscription as a protocol error whose message says why. */
export function protocolError(error: unknown): unknown {
  if (error instanceof ServiceError || error instanceof z.ZodError) {
    return new McpError(ErrorCode.InvalidParams, errorMessage(error));
  }
  return error;
}

export function toolError(error: unknown): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: errorMessage(error) }] };
}

export function toolResult(result: object): CallToolResult {
  return {
    content: [{ type: 'text', text: JSON.stringify(result) }],
    structuredContent: result as Record<string, unknown>,
  };
}

export function jsonContents(uri: URL, value: unknown): ReadResourceResult {
  return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(value, null, 2) }] };
}

/** The `_meta` entries naming what a tool or resource needs, as REST publishes `x-required-scopes`. */
export function requirementMeta(permissions: readonly Permission[]) {
  return {
    'calseta/permissions': [...permissions],
    'calseta/required_scopes': permissions.map((p) => [...PERMISSIONS[p]]),
  };
}

/**
 * A REST list query (`@calseta/schema`) as a tool's input: the same fields, validation and paging
 * limits (`PageQuerySchema`), so the two doors cannot drift. `overrides` replace what a query string
 * spells differently from JSON (`'true'`/`'false'` → booleans).
 */
export function listInput<S extends z.ZodRawShape, O extends z.ZodRawShape>(query: z.ZodObject<S>, overrides: O) {
  return query.extend(overrides).extend(PageQuerySchema.shape).shape;
}

/** The paging fields of a list tool's output. */
export const paged = { total: z.number().int(), page: z.number().int(), page_size: z.number().int() };

/** A list verb's page as a tool's output: the items under `key`, and the paging. */
export function page<K extends string, T>(key: K, { items, total, page, page_size }: Page<T>) {
  return { [key]: items, total, page, page_size } as Record<K, T[]> & {
    total: number;
    page: number;
    page_size: number;
  };
}

/** A uuid argument (checked by the verb, which answers NOT_FOUND for anything else). */
export const UUID = z.string().min(1).max(100);

/**
 * A catalogue as two resources: the collection `calseta://<name>` (`{<name>: [...], count}`, at most
 * 500 items) and the item template `calseta://<name>/{uuid}` (the 50 newest listed).
 */
export function catalogue<T extends { uuid: string }>(spec: {
  name: string;
  item: string;
  permissions: readonly Permission[];
  description: { collection: string; item: string };
  list(ctx: ServiceContext, page: { page: number; page_size: number }): Promise<Page<T>>;
  get(ctx: ServiceContext, input: { uuid: string }): Promise<unknown>;
  title(item: T): string;
  /** How the collection shows an item (default: as listed). */
  summarize?: (item: T) => unknown;
}): ResourceDefinition[] {
  const { name, permissions, summarize = (item: T) => item } = spec;
  return [
    {
      name,
      uri: `calseta://${name}`,
      description: spec.description.collection,
      permissions,
      read: async (ctx) => {
        const items = (await spec.list(ctx, { page: 1, page_size: CATALOGUE_LIMIT })).items.map(summarize);
        return { [name.replaceAll('-', '_')]: items, count: items.length };
      },
    },
    {
      name: spec.item,
      uri: `calseta://${name}/{uuid}`,
      description: spec.description.item,
      permissions,
      list: async (ctx) =>
        (await spec.list(ctx, { page: 1, page_size: LIST_LIMIT })).items.map((item) => ({
          uri: `calseta://${name}/${item.uuid}`,
          name: spec.title(item),
        })),
      read: (ctx, { uuid }) => spec.get(ctx, { uuid: variable(uuid) }),
    },
  ];
}
