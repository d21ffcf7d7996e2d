// The prompt lives in the app (app/prompts/reply.md, front matter and all); the suite loads it.
const fs = require('fs');
const path = require('path');

module.exports = function ({ vars }) {
  const raw = fs.readFileSync(path.join(__dirname, 'app', 'prompts', 'reply.md'), 'utf8');
  return raw.replace(/^---\n[\s\S]*?\n---\n/, '').trim().replace('WORD', vars.word);
};
