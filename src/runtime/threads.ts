// Worker threads on every runtime through node:worker_threads (Node, Bun and Deno all provide it, and
// each passes a shared WebAssembly.Memory in `data` as the same memory, not a copy). The data-plane
// workers of issue 11 and the concurrent engine tests start their threads here.
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";

export interface Thread {
  /** Resolves with the thread's first message, rejects when it throws or exits before sending one. */
  readonly result: Promise<unknown>;
  send(message: unknown): void;
  terminate(): Promise<void>;
}

/** Start `module` (a file URL of a .ts/.js module) in a new thread with `data` as its threadData(). */
export function startThread(module: URL, data: unknown): Thread {
  const worker = new Worker(module, { workerData: data }); // Node 22.18+/24 strips .ts types in threads too
  const result = new Promise<unknown>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
    worker.once("exit", (code: number) => reject(new Error(`[edgeproxy] thread ${module.pathname} exited with code ${code} before answering`)));
  });
  result.catch(() => {}); // observed by the caller; never an unhandled rejection
  return {
    result,
    send: (message) => worker.postMessage(message),
    terminate: async () => { await worker.terminate(); },
  };
}

/** Inside a thread: the data it was started with. */
export function threadData<T>(): T {
  if (isMainThread) throw new Error("[edgeproxy] threadData() called outside a worker thread");
  return workerData as T;
}

/** Inside a thread: answer the thread that started it (its `result`). */
export function answer(message: unknown): void {
  parentPort?.postMessage(message);
}

/** A long-lived thread that talks both ways (the data-plane workers). */
export interface WorkerThread {
  send(message: unknown): void;
  /** Ends the thread now (its handles and sockets are closed by the runtime). */
  terminate(): Promise<void>;
}

export interface WorkerThreadEvents {
  message(message: unknown): void;
  /** An uncaught exception in the thread (the thread then exits). */
  error(error: Error): void;
  /** The thread ended, whatever the reason; called once. */
  exit(code: number): void;
}

/** Start `module` in a new thread with `data` as its threadData(); every message and its end go to `events`. */
export function spawnThread(module: URL, data: unknown, events: WorkerThreadEvents): WorkerThread {
  const worker = new Worker(module, { workerData: data });
  let ended = false;
  worker.on("message", (message: unknown) => events.message(message));
  worker.on("error", (error: Error) => events.error(error));
  worker.once("exit", (code: number) => {
    if (ended) return;
    ended = true;
    events.exit(code);
  });
  return {
    send: (message) => { if (!ended) worker.postMessage(message); },
    terminate: async () => { await worker.terminate(); },
  };
}

/** Inside a thread: messages from the thread that started it. */
export function onParentMessage(handler: (message: unknown) => void): void {
  parentPort?.on("message", handler);
}

/** Inside a thread: stop listening to the parent, so the thread can end once its work is done. */
export function closeParentPort(): void {
  // Deno's parentPort has no close(); unref() lets the thread end all the same (the parent also ends it).
  const port = parentPort as { close?: () => void; unref?: () => void } | null;
  if (typeof port?.close === "function") port.close();
  else port?.unref?.();
}
