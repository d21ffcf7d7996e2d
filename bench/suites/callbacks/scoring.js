// assertScoringFunction: the lowest named score decides, against the test's threshold (0.7 without one)
const lowest = (namedScores, context) => {
  const score = Math.min(...Object.values(namedScores));
  const threshold = context?.threshold ?? 0.7;
  return { pass: score >= threshold, score, reason: `lowest of ${Object.keys(namedScores).length} metrics: ${score}` };
};

const broken = () => {
  throw new Error('no verdict');
};

module.exports = { lowest, broken };
