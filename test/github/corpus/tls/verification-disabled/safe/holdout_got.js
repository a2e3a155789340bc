import got from 'got';
export const client = got.extend({ https: { certificateAuthority: process.env.CA_PEM, rejectUnauthorized: true } });
