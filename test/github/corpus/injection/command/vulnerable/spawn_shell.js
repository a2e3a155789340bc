const cp = require('child_process');
function convert(file) {
  return cp.spawn(`convert ${file} out.png`, { shell: true });
}
