const crypto = require('crypto');
function subresourceIntegrity(fileBuffer) {
  return 'sha384-' + crypto.createHash('sha384').update(fileBuffer).digest('base64');
}
