// Runs for beforeEach only (named after it): called with (context, {hookName}). It changes the test in place and
// returns nothing, which counts for a JavaScript hook (promptfoo hands it the live test).
module.exports.beforeEach = function (context, { hookName }) {
  if (hookName !== 'beforeEach') throw new Error('called for ' + hookName);
  const vars = context.test.vars;
  if (vars.loud) {
    vars.message = String(vars.message).toUpperCase();
  }
  if (vars.reverse) {
    return { test: { ...context.test, vars: { ...vars, message: String(vars.message).split('').reverse().join('') } } };
  }
};
