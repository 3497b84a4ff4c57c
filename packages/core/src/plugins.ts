import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type AlertSource,
  type CalsetaPlugin,
  defineAlertSource,
  type EnrichmentProviderPlugin,
  isCalsetaPlugin,
} from '@calseta/plugin-sdk';
import { ProviderImportSchema } from '@calseta/schema';
import { contextFor } from './context-for.js';
import { importEnrichmentProvider } from './enrichment/admin-providers.js';
import type { CoreDeps } from './infra/context.js';
import { SYSTEM } from './infra/context.js';
import { ServiceError } from './infra/errors.js';
import type { Logger } from './infra/logger.js';

/**
 * Plugins from configuration: `CALSETA_PLUGINS` names npm packages (or files) whose named export
 * `plugin` is a `CalsetaPlugin` (`definePlugin` from `@calseta/plugin-sdk`). Their alert sources are
 * registered next to the first-party ones (so `POST /v1/ingest/{name}` accepts them) and their
 * enrichment providers are installed like `POST /v1/enrichment-providers/import` does — core is not
 * edited to add either.
 */

/** `CALSETA_PLUGINS`: package names (or paths) separated by commas or whitespace, duplicates dropped. */
export function parsePluginList(value: string | undefined): string[] {
  return [
    ...new Set(
      (value ?? '')
        .split(/[\s,]+/)
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}

export interface LoadedPlugins {
  plugins: CalsetaPlugin[];
  sources: AlertSource[];
  providers: EnrichmentProviderPlugin[];
}

export const NO_PLUGINS: LoadedPlugins = Object.freeze({ plugins: [], sources: [], providers: [] });

export interface LoadPluginsOptions {
  /** Where package names and relative paths resolve from when core itself cannot see them (default: cwd). */
  resolveFrom?: string;
  logger?: Logger;
  /** For tests: how a specifier becomes a module. */
  importModule?: (specifier: string) => Promise<unknown>;
}

function isPath(specifier: string): boolean {
  return specifier.startsWith('.') || isAbsolute(specifier);
}

function notFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || code === 'ERR_LOAD_URL';
}

/** Import a package name (as core sees it, then from `resolveFrom`) or a file path (from `resolveFrom`). */
async function importPlugin(specifier: string, resolveFrom: string): Promise<unknown> {
  if (isPath(specifier)) return import(pathToFileURL(resolve(resolveFrom, specifier)).href);
  try {
    return await import(specifier);
  } catch (error) {
    if (!notFound(error)) throw error;
    const require = createRequire(join(resolveFrom, 'package.json'));
    let resolved: string;
    try {
      resolved = require.resolve(specifier);
    } catch {
      throw error;
    }
    return import(pathToFileURL(resolved).href);
  }
}

function pluginError(specifier: string, message: string): Error {
  return new Error(`Plugin "${specifier}" (CALSETA_PLUGINS): ${message}`);
}

/**
 * Load every configured plugin. Throws (naming the plugin) when one cannot be imported, exports no
 * `plugin`, or declares an invalid source or provider: a misconfigured deployment must not start with
 * sources silently missing.
 */
export async function loadPlugins(
  specifiers: readonly string[],
  options: LoadPluginsOptions = {},
): Promise<LoadedPlugins> {
  if (specifiers.length === 0) return NO_PLUGINS;
  const resolveFrom = options.resolveFrom ?? process.cwd();
  const load = options.importModule ?? ((s: string) => importPlugin(s, resolveFrom));
  const out: LoadedPlugins = { plugins: [], sources: [], providers: [] };
  for (const specifier of specifiers) {
    let module: unknown;
    try {
      module = await load(specifier);
    } catch (error) {
      throw pluginError(specifier, `cannot be imported: ${error instanceof Error ? error.message : String(error)}`);
    }
    const plugin = (module as { plugin?: unknown } | null)?.plugin;
    if (!isCalsetaPlugin(plugin)) {
      throw pluginError(specifier, 'has no named export `plugin` made with definePlugin() from @calseta/plugin-sdk');
    }
    for (const source of plugin.sources) {
      const missing = (['validate', 'normalize', 'extractIndicators'] as const).filter(
        (method) => typeof source?.[method] !== 'function',
      );
      if (missing.length > 0) throw pluginError(specifier, `a source lacks ${missing.join(', ')}`);
      try {
        // Re-checks the static contract (the module may not have used defineAlertSource); the source
        // itself is registered, so class-based sources keep their prototype methods.
        defineAlertSource(source);
      } catch (error) {
        throw pluginError(specifier, error instanceof Error ? error.message : String(error));
      }
      out.sources.push(source);
    }
    for (const provider of plugin.providers) {
      const parsed = ProviderImportSchema.safeParse(provider);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
        throw pluginError(specifier, `provider is invalid: ${problems}`);
      }
      out.providers.push(parsed.data);
    }
    out.plugins.push(plugin);
    options.logger?.info(
      {
        plugin: plugin.name,
        sources: plugin.sources.map((s) => s.name),
        providers: plugin.providers.map((p) => p.provider.provider_name),
      },
      'plugin loaded',
    );
  }
  return out;
}

export interface InstalledProviders {
  /** Created now. */
  installed: string[];
  /** Already present (created earlier, by an admin or another process): left as configured. */
  existing: string[];
}

/**
 * Install the plugins' enrichment providers: each is imported (provider + extractions, in one
 * transaction, activity-logged) unless a provider of that name exists — then it is left alone, so an
 * admin's edits (credentials, deactivation, rules) survive restarts. Safe to run from several
 * processes at once.
 */
export async function installPluginProviders(
  deps: CoreDeps,
  plugins: Pick<LoadedPlugins, 'providers'>,
): Promise<InstalledProviders> {
  const ctx = contextFor(deps, SYSTEM);
  const result: InstalledProviders = { installed: [], existing: [] };
  for (const provider of plugins.providers) {
    const name = provider.provider.provider_name;
    const exists = await deps.db
      .selectFrom('enrichment_providers')
      .select('provider_name')
      .where('provider_name', '=', name)
      .executeTakeFirst();
    if (exists) {
      result.existing.push(name);
      continue;
    }
    try {
      await importEnrichmentProvider(ctx, provider);
      result.installed.push(name);
    } catch (error) {
      if (error instanceof ServiceError && error.code === 'CONFLICT') result.existing.push(name);
      else throw error;
    }
  }
  if (result.installed.length > 0) deps.logger.info({ providers: result.installed }, 'plugin providers installed');
  return result;
}
