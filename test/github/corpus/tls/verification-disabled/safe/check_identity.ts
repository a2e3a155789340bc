import tls from 'node:tls';

export const socket = tls.connect({
  host: 'db.internal',
  port: 5432,
  checkServerIdentity: (host, cert) => {
    const err = tls.checkServerIdentity(host, cert);
    if (err) return err;
    if (cert.fingerprint256 !== process.env.PINNED_FP) return new Error('certificate pin mismatch');
    return undefined;
  },
});
