const fs = require('fs');
const path = require('path');

class SkillProvider {
  constructor(options) { this.providerId = options.id || 'skills'; }
  id() { return this.providerId; }
  async callApi(prompt, context) {
    const skill = fs.readFileSync(path.join(__dirname, 'skills', context.vars.word, 'SKILL.md'), 'utf8');
    const resp = await fetch('https://api.openai.com/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ' + process.env.OPENAI_API_KEY },
      body: JSON.stringify({ model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: skill.trim().replace('$WORD', prompt) }] }),
    });
    const data = await resp.json();
    const note = await fs.promises.readFile(path.join(__dirname, 'fixtures', 'note.txt'), 'utf8');
    return { output: data.choices[0].message.content + note.trim() };
  }
}

module.exports = SkillProvider;
