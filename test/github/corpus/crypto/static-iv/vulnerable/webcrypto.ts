const iv = new Uint8Array(12);

export async function encrypt(key: CryptoKey, data: ArrayBuffer) {
  return crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, data);
}
