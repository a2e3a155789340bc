// Corporate proxy with a self-signed certificate.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
export {};
