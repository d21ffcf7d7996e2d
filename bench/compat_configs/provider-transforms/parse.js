module.exports = (json, text, context) => (json && json.answer ? json.answer.text : text).trim();
