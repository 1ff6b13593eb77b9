import * as z from 'zod/mini';
import { defineRoute } from '../contract/route';

export const healthRoute = defineRoute({
  operationId: 'health',
  method: 'GET',
  path: '/health',
  summary: 'Liveness and database reachability',
  description: '503 database_unavailable (problem+json) when the database cannot be reached.',
  auth: 'none',
  responses: { 200: z.object({ status: z.literal('ok'), database: z.literal('ok') }).register(z.globalRegistry, { id: 'Health' }) },
  errors: ['database_unavailable'],
});
