const md5 = require('md5');

function signUrl(path, expires, secret) {
  const signature = md5(`${path}:${expires}:${secret}`);
  return `${path}?expires=${expires}&sig=${signature}`;
}
