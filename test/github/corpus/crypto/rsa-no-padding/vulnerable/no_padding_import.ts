import { privateDecrypt, constants } from 'node:crypto';

export const open = (key: string, ct: Buffer) => privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, ct);
