import type { FastifyInstance } from 'fastify';
import { noteIfFault, noteWriteSucceeded } from '../db/faults.js';
import type { Db } from '../db/schema.js';

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Keeps the database's storage health current from what requests meet: a database fault a request
 * ran into marks it unwritable (the error handler answers 503 through toPalisadeError), and a write
 * request that succeeds marks it writable again. /readyz and /metrics read that health, and probe
 * with a write of their own when it is stale.
 */
export function installStorageFaultHooks(app: FastifyInstance, db: Db): void {
  app.addHook('onError', async (_request, _reply, err) => {
    noteIfFault(db, err);
  });
  app.addHook('onResponse', async (request, reply) => {
    if (WRITES.has(request.method) && reply.statusCode < 300) noteWriteSucceeded(db);
  });
}
