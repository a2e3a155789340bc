// A mode string that mentions ECB in documentation only.
const MODES = ['gcm', 'ccm'];
function pickMode(name) {
  if (name === 'ecb') throw new Error('ECB is not allowed');
  return MODES.includes(name) ? `aes-256-${name}` : 'aes-256-gcm';
}
