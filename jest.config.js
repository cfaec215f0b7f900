// Tests are compiled by tsc into dist/test; jest runs the JavaScript. Our
// files need no transform; ip-cidr is an ES module only, which jest's
// CommonJS runtime cannot load, so it (and only it) is turned into CommonJS.
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/dist/test'],
  testMatch: ['**/*.test.js'],
  testTimeout: 120000,
  transform: { '/node_modules/ip-cidr/.+\\.js$': ['babel-jest', { plugins: [['@babel/plugin-transform-modules-commonjs', { importInterop: 'node' }]] }] },
  transformIgnorePatterns: ['/node_modules/(?!ip-cidr/)'],
};
