/**
 * How a process (api, worker, mcp) reports a configuration it cannot start with — an invalid
 * environment, a plugin in CALSETA_PLUGINS that cannot be loaded — so that a supervisor stops instead
 * of restarting it forever: restarting cannot fix a configuration.
 */

/** Exit code of a process that refused its configuration (sysexits.h `EX_CONFIG`). */
export const EXIT_CONFIG = 78;

/**
 * Run a start-up step that only reads configuration (parsing the environment, loading plugins): if it
 * throws, print its message (no stack: the fix is in the configuration) and exit with
 * {@link EXIT_CONFIG}. `pnpm start`'s supervisor stops the stack on that code; docker's restart
 * policies still restart it, so the message repeats in the logs.
 */
export async function exitOnConfigError<T>(step: () => T | Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    process.stderr.write(`Configuration error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(EXIT_CONFIG);
  }
}
