/**
 * @calseta-community/greynoise — the GreyNoise Community API as a Calseta enrichment provider. The
 * definition is data (`provider.json`, importable as is with `pnpm calseta providers import`); this
 * module declares it for `CALSETA_PLUGINS=@calseta-community/greynoise`, which installs it at startup.
 */
import { defineEnrichmentProvider, definePlugin, type EnrichmentProviderPluginInput } from '@calseta/plugin-sdk';
import definition from '../provider.json' with { type: 'json' };

/** Checked at load time: a definition that does not validate fails here, not at the first lookup. */
export const greynoiseProvider = defineEnrichmentProvider(definition as EnrichmentProviderPluginInput);

export const plugin = definePlugin({ name: '@calseta-community/greynoise', providers: [greynoiseProvider] });
