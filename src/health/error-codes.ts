import type { ErrorCodeCatalog } from '../errors.js';

/** Health checks: each code once, with its one HTTP status and what it means and what to do (src/errors.ts). */
export const HEALTH_ERROR_CODES = {
  database_unreachable: {
    status: 503,
    message:
      'The database does not answer…. Check DATABASE_URL and that the database server is running; Palisade reconnects by itself when it is back.',
  },
  shutting_down: {
    status: 503,
    message:
      'This instance is shutting down: it finishes the requests it has and takes no new ones. Send requests to another instance; a restarted instance answers ready again.',
  },
} as const satisfies ErrorCodeCatalog;
