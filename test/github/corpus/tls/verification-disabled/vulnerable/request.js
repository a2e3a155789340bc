const request = require('request');
request({ url: 'https://internal.example.com/api', strictSSL: false }, (err, res, body) => console.log(body));
