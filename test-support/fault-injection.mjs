// Preloaded (`node --import`) into a service process by the tests of its process policy: on
// SIGUSR2 the process gets a promise rejection nobody handles, on SIGHUP an uncaught exception.
process.on('SIGUSR2', () => {
  void Promise.reject(new Error('injected rejection (test)'));
});
process.on('SIGHUP', () => {
  setImmediate(() => {
    throw new Error('injected exception (test)');
  });
});
process.stderr.write('fault injection armed\n');
