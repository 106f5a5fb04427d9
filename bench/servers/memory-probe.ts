/**
 * Preloaded into the authctx process by the memory run (`node --expose-gc --import
 * memory-probe.js dist/src/main.js start`): on the IPC message `"memory"` it collects
 * garbage and answers with `process.memoryUsage()`, so heap per cached user is measured
 * on live objects only. The real CLI runs unmodified.
 */
const gc = (globalThis as { gc?: () => void }).gc;

if (process.send) {
  process.on('message', (message) => {
    if (message !== 'memory') return;
    gc?.();
    gc?.();
    process.send?.({ memory: process.memoryUsage(), gc: gc !== undefined });
  });
  // The probe must not keep the process alive once main.ts has drained at SIGTERM.
  process.channel?.unref();
}

export {};
