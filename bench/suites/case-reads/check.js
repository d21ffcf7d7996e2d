const fs = require('fs');
const path = require('path');

module.exports = (output, context) => {
  const want = JSON.parse(fs.readFileSync(path.join(__dirname, 'expected', context.vars.word + '.json'), 'utf8'));
  const ok = want.accept.includes(output.trim());
  return { pass: ok, score: ok ? 1 : 0, reason: ok ? 'accepted' : `not one of ${want.accept.join(', ')}` };
};
