const { buildSystemPrompt } = require('@acme/prompts');

module.exports = ({ vars }) => [
  { role: 'system', content: buildSystemPrompt() },
  { role: 'user', content: vars.question },
];
