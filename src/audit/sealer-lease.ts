import pg from 'pg';

/**
 * Which instance seals in the background (PALISADE_AUDIT_SEALING=background on PostgreSQL): the one
 * holding a session-level advisory lock on a connection of its own, named after the schema so that
 * installations sharing a database (or test runs, a schema each) do not share it.
 *
 * One sealer for all instances, instead of each instance sealing what it appended, because the
 * passes of several sealers on one organization take turns on its chain head and the losers' tries
 * are pure overhead (bench audit-concurrency). The lease is released by the server when the holder's
 * connection ends — a graceful stop, a kill -9, a lost network — and another instance takes it at
 * its next try (every sweep interval), so nothing depends on a holder that died.
 */
export class SealerLease {
  readonly #pool: pg.Pool;
  #client: pg.Client | null = null;
  #held = false;
  #ended = false;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  get held(): boolean {
    return this.#held;
  }

  /** Takes the lease if it is free; true while this process holds it (no round trip then). */
  async acquire(): Promise<boolean> {
    if (this.#held || this.#ended) return this.#held;
    const client = this.#client ?? (await this.#connect());
    const { rows } = await client.query<{ ok: boolean }>(
      `select pg_try_advisory_lock(hashtext(current_schema() || '.palisade.audit_sealer')) as ok`,
    );
    this.#held = rows[0]?.ok === true && this.#client === client;
    return this.#held;
  }

  /** Gives the lease up (a graceful stop): another instance takes it at its next try. */
  async release(): Promise<void> {
    this.#ended = true;
    this.#held = false;
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => undefined);
  }

  async #connect(): Promise<pg.Client> {
    // The pool's own settings (address, TLS, search_path), on a connection outside the pool: the
    // lease lives as long as this connection, whatever the pool does with its idle ones.
    const client = new pg.Client(this.#pool.options);
    const lost = () => {
      if (this.#client === client) {
        this.#client = null;
        this.#held = false;
      }
    };
    client.on('error', lost);
    client.on('end', lost);
    await client.connect();
    this.#client = client;
    return client;
  }
}
