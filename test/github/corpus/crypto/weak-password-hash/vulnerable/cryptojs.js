import CryptoJS from 'crypto-js';

export function encodePassword(password) {
  return CryptoJS.MD5(password).toString();
}
