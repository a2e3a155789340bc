import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { emailDomain, normalizeDomain } from '../../src/domains/normalize.js';
import { PalisadeError } from '../../src/errors.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';

const code = (input: string) => {
  try {
    normalizeDomain(input);
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof PalisadeError, `non-Palisade error for ${JSON.stringify(input)}: ${String(err)}`);
    assert.equal(err.status, 400);
    return err.code;
  }
};

describe('domain input normalization', () => {
  test('case, trailing dot, whitespace and IDN', () => {
    assert.deepEqual(normalizeDomain('Example.COM.'), { ascii: 'example.com', unicode: 'example.com' });
    assert.deepEqual(normalizeDomain('  bücher.de '), { ascii: 'xn--bcher-kva.de', unicode: 'bücher.de' });
    assert.deepEqual(normalizeDomain('XN--BCHER-KVA.de'), { ascii: 'xn--bcher-kva.de', unicode: 'bücher.de' });
    assert.equal(normalizeDomain('ＥＸＡＭＰＬＥ.com').ascii, 'example.com', 'full-width letters map like browsers do');
    assert.equal(normalizeDomain('eu.example.co.uk').ascii, 'eu.example.co.uk');
    assert.equal(normalizeDomain('acme.github.io').ascii, 'acme.github.io');
  });

  test('refuses with a code and a reason', () => {
    const cases: [string, string, RegExp][] = [
      ['https://example.com', 'domain_is_url', /URL/],
      ['example.com/login', 'domain_is_url', /URL/],
      ['admin@example.com', 'domain_is_email', /email/],
      ['*.example.com', 'domain_is_wildcard', /includeSubdomains/],
      ['192.0.2.1', 'domain_is_ip', /IP address/],
      ['[2001:db8::1]', 'domain_is_ip', /IP address/],
      ['2001:db8::1', 'domain_is_ip', /IP address/],
      ['co.uk', 'domain_is_public_suffix', /public suffix/],
      ['com', 'domain_is_public_suffix', /single-label|public suffix/],
      ['github.io', 'domain_is_public_suffix', /public suffix/],
      ['localhost', 'domain_is_public_suffix', /single-label/],
      ['exa mple.com', 'invalid_domain', /spaces/],
      ['example.com:443', 'invalid_domain', /port/],
      ['a..example.com', 'invalid_domain', /empty labels/],
      ['-bad.example.com', 'invalid_domain', /label "-bad"/],
      [`${'a'.repeat(64)}.com`, 'invalid_domain', /63/],
      ['', 'invalid_domain', /empty/],
    ];
    for (const [input, expected, why] of cases) {
      assert.equal(code(input), expected, input);
      try {
        normalizeDomain(input);
      } catch (err) {
        assert.match((err as Error).message, why, input);
      }
    }
  });

  test('email domains normalize the same way', () => {
    assert.equal(emailDomain('x@Example.COM.'), 'example.com');
    assert.equal(emailDomain('x@bücher.de'), 'xn--bcher-kva.de');
    assert.equal(emailDomain('no-at-sign'), undefined);
    assert.equal(emailDomain('x@[192.0.2.1]'), undefined);
  });

  test('fuzz: arbitrary input either normalizes to a valid name or is refused with a 400', () => {
    let seed = 0x5eed;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const alphabet = [
      'a',
      'z',
      '0',
      '9',
      '-',
      '.',
      '.',
      '_',
      '*',
      '/',
      ':',
      '@',
      '[',
      ']',
      ' ',
      '\t',
      '\u0000',
      '\u200b',
      'ü',
      'ß',
      '日本',
      '💩',
      'ＡＢ',
      'xn--',
      '%',
      '"',
      '\\',
      'İ',
      '\ud800',
      '。',
    ];
    for (let i = 0; i < 3000; i++) {
      const len = Math.floor(rnd() * 40);
      let s = '';
      for (let j = 0; j < len; j++) s += alphabet[Math.floor(rnd() * alphabet.length)];
      if (rnd() < 0.3) s += '.example.com';
      const c = code(s);
      if (c === 'ok') {
        const n = normalizeDomain(s);
        assert.match(n.ascii, /^[a-z0-9-]+(\.[a-z0-9-]+)+$/, `${JSON.stringify(s)} → ${n.ascii}`);
        assert.equal(normalizeDomain(n.ascii).ascii, n.ascii, 'idempotent');
      }
    }
  });
});

describe('domain input over HTTP never answers 500', () => {
  let t: TestApp;
  let owner: Agent;
  let orgId: string;
  before(async () => {
    t = await createTestApp();
    ({ orgId, owner } = await t.seedOrg('Fuzz', 'owner@fuzz.test'));
  });
  after(() => t.close());

  test('odd bodies and odd names answer 201, 400, 409 or 415 with an error code', async () => {
    const bodies: unknown[] = [
      { domain: 'ok.fuzz.test' },
      { domain: 'ok.fuzz.test.' },
      { domain: 'x'.repeat(301) },
      { domain: '\u0000' },
      { domain: '💩.la' },
      { domain: '%00.example.com' },
      { domain: '..' },
      { domain: 123 },
      { domain: null },
      { domain: ['a.com'] },
      {},
      { domain: 'a.com', extra: 1 },
      { domain: 'a.com', includeSubdomains: 'yes' },
      'a.com',
    ];
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let i = 0; i < 60; i++) {
      let s = '';
      for (let j = 0; j < 1 + Math.floor(rnd() * 30); j++) s += String.fromCharCode(Math.floor(rnd() * 0x3000));
      bodies.push({ domain: s });
    }
    for (const body of bodies) {
      const res = await owner.post(`/api/v1/orgs/${orgId}/domains`, body);
      assert.ok([201, 400, 409, 415].includes(res.status), `${JSON.stringify(body)} → ${res.status} ${res.raw.body}`);
      if (res.status !== 201) assert.match(res.body.error.code, /^[a-z_]+$/);
    }
    const bad = await owner.get('/api/v1/login/discover?email=%00%F0%9F%92%A9@@');
    assert.equal(bad.status, 400);
  });
});
