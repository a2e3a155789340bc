import CryptoJS from 'crypto-js';
export const enc = (msg, key) => CryptoJS.TripleDES.encrypt(msg, key).toString();
