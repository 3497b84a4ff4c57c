import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../types.js';

export const workflowRoutes = new OpenAPIHono<AppEnv>();
