import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../types.js';

export const metricsRoutes = new OpenAPIHono<AppEnv>();
