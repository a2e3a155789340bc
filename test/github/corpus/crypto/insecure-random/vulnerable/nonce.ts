export function cspNonce(): string {
  return Buffer.from(String(Math.random())).toString('base64');
}
