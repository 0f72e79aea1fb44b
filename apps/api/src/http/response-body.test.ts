import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ReaderGoneError, ReaderStalledError, responseBody } from './response-body.ts';

/** Writes `chunk` and resolves when the writer is called back, i.e. may write again. */
function write(output: NodeJS.WritableStream, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) =>
    output.write(chunk, (error) => (error ? reject(error) : resolve())),
  );
}

describe('responseBody', () => {
  it('holds the writer back while the reader is behind, and lets it go as the reader takes chunks', async () => {
    let written = 0;
    const body = responseBody({
      highWaterMark: 10,
      stallTimeoutMs: 60_000,
      onWrite: (bytes) => {
        written += bytes;
      },
    });
    await write(body.output, Buffer.from('12345'));
    let secondDone = false;
    const second = write(body.output, Buffer.from('67890')).then(() => {
      secondDone = true;
    });
    await Promise.resolve();
    expect(secondDone).toBe(false);
    const reader = body.stream.getReader();
    expect(Buffer.from((await reader.read()).value!).toString()).toBe('12345');
    await second;
    body.output.end();
    expect(Buffer.from((await reader.read()).value!).toString()).toBe('67890');
    expect((await reader.read()).done).toBe(true);
    expect(written).toBe(10);
  });

  it('fails the writer with ReaderStalledError when the reader takes nothing for the stall timeout', async () => {
    const body = responseBody({ highWaterMark: 4, stallTimeoutMs: 20 });
    const failed = once(body.output, 'error');
    void write(body.output, Buffer.from('more than four bytes')).catch(() => {});
    const [error] = await failed;
    expect(error).toBeInstanceOf(ReaderStalledError);
    // The stream's own reader (no socket here) learns of it as an error.
    await expect(body.stream.getReader().read()).rejects.toBeInstanceOf(ReaderStalledError);
  });

  it('closes the connection instead of erroring the stream when it can', async () => {
    let aborted = 0;
    const body = responseBody({
      highWaterMark: 4,
      stallTimeoutMs: 20,
      abortConnection: () => {
        aborted += 1;
      },
    });
    const failed = once(body.output, 'error');
    void write(body.output, Buffer.from('more than four bytes')).catch(() => {});
    await failed;
    expect(aborted).toBe(1);
  });

  it('fails the writer with ReaderGoneError when the reader cancels', async () => {
    const body = responseBody({ highWaterMark: 4, stallTimeoutMs: 60_000 });
    const failed = once(body.output, 'error');
    void write(body.output, Buffer.from('more than four bytes')).catch(() => {});
    await body.stream.cancel();
    const [error] = await failed;
    expect(error).toBeInstanceOf(ReaderGoneError);
  });
});
