const { readFileSync, existsSync } = require('node:fs');
const { resolve } = require('node:path');

module.exports.beforeEach = (context) => {
  const vars = context.test.vars;
  if (vars.fixture) {
    const file = resolve(__dirname, 'fixtures', `${vars.fixture}.json`);
    vars.word = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).city : 'missing';
  }
};
