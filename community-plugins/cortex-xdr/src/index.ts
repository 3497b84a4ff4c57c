/**
 * @calseta-community/cortex-xdr — Palo Alto Networks Cortex XDR alerts and incidents as a Calseta alert
 * source (`POST /v1/ingest/cortex_xdr`). Enable with `CALSETA_PLUGINS=@calseta-community/cortex-xdr`.
 */
import { definePlugin } from '@calseta/plugin-sdk';
import { cortexXdrSource } from './source.js';

export { cortexXdrSource, xdrSeverity } from './source.js';

export const plugin = definePlugin({ name: '@calseta-community/cortex-xdr', sources: [cortexXdrSource] });
