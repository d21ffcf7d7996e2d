module.exports = {
  mentionsRefund: (output) => output.toLowerCase().includes('refund'),
  isShouting: (output) => output === output.toUpperCase(),
};
