import { Writable } from 'node:stream';

/** The reader took nothing for the stall timeout while the writer waited on it. */
export class ReaderStalledError extends Error {
  constructor(timeoutMs: number) {
    super(`the client read nothing for ${timeoutMs} ms`);
    this.name = 'ReaderStalledError';
  }
}

/** The reader went away (client disconnected, response cancelled) before the body was complete. */
export class ReaderGoneError extends Error {
  constructor() {
    super('the client went away before the download was complete');
    this.name = 'ReaderGoneError';
  }
}

export interface ResponseBodyOptions {
  /** Bytes queued for the reader before the writer is made to wait. */
  highWaterMark: number;
  /** A writer kept waiting this long by a reader that takes nothing is failed with ReaderStalledError. */
  stallTimeoutMs: number;
  /**
   * Closes the connection at once. Given, it is how a failure midway reaches the client: erroring the
   * stream instead makes @hono/node-server end the response normally with an error text appended, which
   * a client could take for a complete file; and a stalled server response never reads the error anyway.
   */
  abortConnection?: () => void;
  /** Told each chunk's size as the writer hands it over. */
  onWrite?: (bytes: number) => void;
}

export interface ResponseBody {
  /** The response's body. */
  stream: ReadableStream<Uint8Array>;
  /** What the producer writes into; it waits (its write callbacks are held) while the reader is behind. */
  output: Writable;
}

/**
 * A Writable feeding a web ReadableStream with real backpressure: a write is called back only once the
 * stream's queue is under `highWaterMark`, i.e. when the reader (@hono/node-server, which itself waits for
 * the socket's 'drain') has taken the earlier chunks. `Readable.toWeb(new PassThrough())` did not hold a
 * producer back this way (measured: see the commit), and had no notion of a reader that stopped.
 *
 * A cancelled stream (the client went away) destroys `output` with ReaderGoneError, and a reader that
 * leaves a write waiting for `stallTimeoutMs` gets it destroyed with ReaderStalledError: either way the
 * producer's pipeline fails and lets go of what it holds.
 */
export function responseBody(options: ResponseBodyOptions): ResponseBody {
  const { highWaterMark, stallTimeoutMs, abortConnection, onWrite } = options;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  /** The callback of the write that waits for the reader. */
  let waiting: (() => void) | null = null;
  let stallTimer: NodeJS.Timeout | undefined;
  let readerGone = false;

  function resumeWriter() {
    clearTimeout(stallTimer);
    const callback = waiting;
    waiting = null;
    callback?.();
  }

  const output = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      controller.enqueue(chunk);
      onWrite?.(chunk.length);
      if ((controller.desiredSize ?? 0) > 0) {
        callback();
        return;
      }
      waiting = callback;
      stallTimer = setTimeout(() => output.destroy(new ReaderStalledError(stallTimeoutMs)), stallTimeoutMs);
    },
    final(callback) {
      controller.close();
      callback();
    },
    destroy(error, callback) {
      clearTimeout(stallTimer);
      waiting = null;
      // Destroyed after finishing (autoDestroy) or by the reader's own cancel: nothing to tell the reader.
      if (error && !readerGone) {
        readerGone = true;
        if (abortConnection) abortConnection();
        else controller.error(error);
      }
      callback(error);
    },
  });

  // The producer hears of a failure through its own pipeline; once it has finished writing, nobody
  // listens, and a reader leaving then must not become an uncaught error.
  output.on('error', () => {});

  const stream = new ReadableStream<Uint8Array>(
    {
      start(streamController) {
        controller = streamController;
      },
      pull: resumeWriter,
      cancel() {
        readerGone = true;
        output.destroy(new ReaderGoneError());
      },
    },
    { highWaterMark, size: (chunk) => chunk.byteLength },
  );

  return { stream, output };
}
