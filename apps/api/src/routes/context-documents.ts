import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../types.js';

export const contextDocumentRoutes = new OpenAPIHono<AppEnv>();
