const crypto = require('crypto');
const c = crypto.createCipheriv('des-ede3', key, '');
