module.exports.noApology = (output) => !/sorry/i.test(output);
