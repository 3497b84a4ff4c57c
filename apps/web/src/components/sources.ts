/** The first-party alert source plugins (the API has no endpoint listing registered plugins). */
export const SOURCE_PLUGINS = ['sentinel', 'elastic', 'splunk', 'generic'] as const;
export type SourcePlugin = (typeof SOURCE_PLUGINS)[number];
