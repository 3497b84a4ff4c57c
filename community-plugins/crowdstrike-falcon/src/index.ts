/**
 * @calseta-community/crowdstrike-falcon — CrowdStrike Falcon detections as a Calseta alert source
 * (`POST /v1/ingest/crowdstrike_falcon`). Enable with `CALSETA_PLUGINS=@calseta-community/crowdstrike-falcon`.
 */
import { definePlugin } from '@calseta/plugin-sdk';
import { falconSource } from './source.js';

export { falconSeverity, falconSource } from './source.js';

export const plugin = definePlugin({ name: '@calseta-community/crowdstrike-falcon', sources: [falconSource] });
