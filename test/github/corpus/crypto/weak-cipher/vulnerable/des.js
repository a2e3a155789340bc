const crypto = require('crypto');
const cipher = crypto.createCipheriv('des-cbc', key.slice(0, 8), iv.slice(0, 8));
