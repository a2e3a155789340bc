// An object whose method happens to be called encrypt, with a mode string.
export function run(box, data) {
  return box.encrypt(data, 'GCM');
}
