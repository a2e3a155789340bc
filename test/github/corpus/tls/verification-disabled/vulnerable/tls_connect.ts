import tls from 'node:tls';

export const socket = tls.connect({ host: 'db.internal', port: 5432, checkServerIdentity: () => undefined });
