/**
 * Server-sent events in OpenAI's framing: `data: <json>\n\n` per chunk and
 * `data: [DONE]\n\n` at the end. Writes wait for the socket to drain, so a
 * slow reader slows its own generation instead of growing a buffer.
 */
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';

export class SseWriter {
  private started = false;

  constructor(private readonly res: ServerResponse) {}

  /** True once the client is gone or the response ended. */
  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  /** Sends the status line and headers (once). */
  start(headers: Readonly<Record<string, string>> = {}): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, {
      ...headers,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
  }

  /** Sends one event; resolves once the socket can take more. */
  async send(data: unknown): Promise<void> {
    await this.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** Sends `data: [DONE]` and ends the response. */
  async done(): Promise<void> {
    await this.write('data: [DONE]\n\n');
    this.end();
  }

  end(): void {
    if (!this.closed) this.res.end();
  }

  private async write(text: string): Promise<void> {
    this.start();
    if (this.closed) return;
    if (!this.res.write(text)) {
      await Promise.race([once(this.res, 'drain'), once(this.res, 'close')]);
    }
  }
}
