// Starts Pyodide without the deprecated use of SharedArrayBuffer it makes as it starts.
//
// As its module is set up, pyodide.asm.mjs makes a one-page shared WebAssembly.Memory for a
// single purpose: a sleep (Atomics.wait) between retries of a read that answered EAGAIN.
// Without cross-origin isolation (static hosts do not send COOP/COEP), Chromium reports that
// memory as a deprecated SharedArrayBuffer (a DevTools issue, and Lighthouse's "deprecations"
// audit). So while Pyodide loads, and only then, a shared memory asked for without isolation
// is made unshared. Atomics.wait on it throws, which Pyodide catches ("cannot sleep"), as it
// does on a page's main thread, where Atomics.wait always throws: the page behaves the same.
// In the snapshot worker the retry loses its sleep, for reads it never makes (stdin).
// tests/serving/test_runtime.py checks that the pinned Pyodide uses shared memory only there.
//
// The constructor is wrapped in a Proxy, so `instanceof WebAssembly.Memory` and every other
// use of it answer as before; only a `shared: true` descriptor changes.
let loads = 0;
let native = null;

export async function withoutSharedMemory(start) {
  if (globalThis.crossOriginIsolated) return start();
  if (loads++ === 0) {
    native = WebAssembly.Memory;
    WebAssembly.Memory = new Proxy(native, {
      construct(target, [descriptor, ...rest], newTarget) {
        const unshared = descriptor?.shared ? { ...descriptor, shared: false } : descriptor;
        return Reflect.construct(target, [unshared, ...rest], newTarget === WebAssembly.Memory ? target : newTarget);
      },
    });
  }
  try {
    return await start();
  } finally {
    if (--loads === 0) WebAssembly.Memory = native;
  }
}
