import { type AddressInfo, type Socket, connect, createServer } from 'node:net';

/**
 * A TCP relay on loopback in front of the real PostgreSQL (a test tool, not a fake server: every
 * byte goes to the real server), for the connection faults a pool meets:
 * - `sever()` ends the relay's server side of every open connection and keeps the client side of an
 *   idle one open until the client next writes: what the pool meets when the server's goodbye has
 *   not been read yet when a connection is handed out, the window a restart under load leaves open.
 *   A connection waiting for an answer is closed at once (its client sees the error, as it would).
 * - `loseAnswerTo(text)`: the next statement whose bytes contain `text` reaches the server and runs
 *   there (it commits, when it is a statement on its own), but its answer never reaches the client:
 *   both sides of that connection are closed as the answer arrives, as when the server or the
 *   network fails between the commit and the reply.
 */
export interface Relay {
  port: number;
  sever(): number;
  loseAnswerTo(text: string): void;
  /** How many answers loseAnswerTo swallowed. */
  readonly answersLost: number;
  close(): Promise<void>;
}

export async function startRelay(target: URL): Promise<Relay> {
  const pairs = new Set<{ client: Socket; server: Socket; severed: boolean; loseAnswer: boolean; awaiting: boolean }>();
  let loseTo: string | null = null;
  let answersLost = 0;
  const relay = createServer((client) => {
    const server = connect(Number(target.port || 5432), target.hostname);
    const pair = { client, server, severed: false, loseAnswer: false, awaiting: false };
    pairs.add(pair);
    client.on('data', (chunk: Buffer) => {
      if (pair.severed) {
        client.destroy();
        return;
      }
      if (loseTo !== null && chunk.includes(loseTo)) {
        loseTo = null;
        pair.loseAnswer = true;
      }
      pair.awaiting = true;
      server.write(chunk);
    });
    server.on('data', (chunk) => {
      if (pair.loseAnswer) {
        answersLost++;
        pair.severed = true;
        client.destroy();
        server.destroy();
        return;
      }
      pair.awaiting = false;
      if (!pair.severed) client.write(chunk);
    });
    const drop = () => {
      pairs.delete(pair);
      if (!pair.severed) client.destroy();
      server.destroy();
    };
    client.on('close', () => {
      pairs.delete(pair);
      server.destroy();
    });
    client.on('error', () => undefined);
    server.on('close', drop);
    server.on('error', () => undefined);
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  return {
    port: (relay.address() as AddressInfo).port,
    sever() {
      let n = 0;
      for (const pair of pairs) {
        pair.severed = true;
        pair.server.destroy();
        if (pair.awaiting) pair.client.destroy();
        n++;
      }
      return n;
    },
    loseAnswerTo(text) {
      loseTo = text;
    },
    get answersLost() {
      return answersLost;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const pair of pairs) pair.client.destroy();
        relay.close(() => r());
      }),
  };
}
