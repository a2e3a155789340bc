export const tlsOptions = { minVersion: 'TLSv1.2' as const, rejectUnauthorized: true };
