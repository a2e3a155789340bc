import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsm {
  conf: string;
  tokenLabel: string;
  pin: string;
  cleanup(): void;
}

/**
 * A SoftHSM2 token of its own in a temporary directory (SOFTHSM2_CONF), with non-extractable
 * AES-256 keys generated ON the token by a child process (so this process's PKCS#11 library is
 * initialised only once, by the provider under test).
 */
export function createSoftHsm(keyLabels: string[]): SoftHsm {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-hsm-'));
  mkdirSync(join(dir, 'tokens'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  const tokenLabel = 'palisade-cmk';
  const pin = '1234';
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', tokenLabel, '--so-pin', '0000', '--pin', pin], {
    env,
    stdio: 'pipe',
  });
  const script = `
    const p = require('pkcs11js'); const m = new p.PKCS11(); m.load(${JSON.stringify(SOFTHSM_MODULE)}); m.C_Initialize();
    const slot = m.C_GetSlotList(true).find((s) => m.C_GetTokenInfo(s).label.trim() === ${JSON.stringify(tokenLabel)});
    const s = m.C_OpenSession(slot, p.CKF_SERIAL_SESSION | p.CKF_RW_SESSION); m.C_Login(s, p.CKU_USER, ${JSON.stringify(pin)});
    const out = [];
    for (const label of ${JSON.stringify(keyLabels)}) {
      const k = m.C_GenerateKey(s, { mechanism: p.CKM_AES_KEY_GEN }, [
        { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY }, { type: p.CKA_KEY_TYPE, value: p.CKK_AES }, { type: p.CKA_VALUE_LEN, value: 32 },
        { type: p.CKA_TOKEN, value: true }, { type: p.CKA_PRIVATE, value: true }, { type: p.CKA_LABEL, value: label },
        { type: p.CKA_ENCRYPT, value: true }, { type: p.CKA_DECRYPT, value: true },
        { type: p.CKA_SENSITIVE, value: true }, { type: p.CKA_EXTRACTABLE, value: false } ]);
      const [a] = m.C_GetAttributeValue(s, k, [{ type: p.CKA_EXTRACTABLE }]);
      out.push(a.value[0]);
    }
    m.C_Logout(s); m.C_CloseSession(s); m.C_Finalize();
    process.stdout.write(JSON.stringify(out));`;
  const extractable = JSON.parse(
    execFileSync(process.execPath, ['-e', script], { env, cwd: process.cwd() }).toString(),
  ) as number[];
  if (extractable.some((e) => e !== 0)) throw new Error('SoftHSM generated an extractable key');
  return { conf, tokenLabel, pin, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
