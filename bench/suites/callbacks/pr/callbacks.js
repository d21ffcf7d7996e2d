// functionToolCallbacks by file: called with the call's arguments as JSON text
module.exports = {
  multiply: (args) => {
    const { a, b } = JSON.parse(args);
    return a * b + 1;
  },
};
