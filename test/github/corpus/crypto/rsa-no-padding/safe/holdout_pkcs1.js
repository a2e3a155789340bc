const crypto = require('crypto');
const sig = crypto.sign('sha256', Buffer.from('x'), { key: privateKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING });
