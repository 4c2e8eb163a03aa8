import type { Msg } from '@nats-io/transport-node';
import type { Bus } from './connect.js';
import { MessageError, type Codec } from './codec.js';

/**
 * A reply: every message carries `v: 1`. Constraining replies to this shape (rather than leaving them open) keeps
 * TypeScript from widening `v: 1` / `ok: true` in a handler's returned object literals to number / boolean.
 */
export type VersionedReply = { v: 1; [field: string]: string | number | boolean | null | undefined | object };

export interface RequestServer {
  stop(): Promise<void>;
}

/**
 * Answers requests on `subject` in a queue group, so replicas share them. A request that does not decode gets
 * `errorReply(<what was wrong>)`, as does one whose handler throws; neither stops the server.
 */
export function serveRequests<Req, Rep extends VersionedReply>(
  bus: Bus,
  subject: string,
  options: {
    queue: string;
    request: Codec<Req>;
    reply: Codec<Rep>;
    handler(req: Req): Promise<NoInfer<Rep>>;
    onInvalid?(e: MessageError): void;
    errorReply(message: string): NoInfer<Rep>;
  },
): RequestServer {
  const inFlight = new Set<Promise<void>>();

  const answer = async (msg: Msg): Promise<void> => {
    let reply: Rep;
    try {
      reply = await options.handler(options.request.decode(msg.data));
    } catch (err) {
      if (err instanceof MessageError) {
        bus.log.warn({ subject, err: err.message }, 'invalid request');
        options.onInvalid?.(err);
      } else {
        bus.log.error({ subject, err: (err as Error).message }, 'request handler failed');
      }
      reply = options.errorReply((err as Error).message);
    }
    let data: Uint8Array;
    try {
      data = options.reply.encode(reply);
    } catch (err) {
      bus.log.error({ subject, err: (err as Error).message }, 'request handler returned an invalid reply');
      data = options.reply.encode(options.errorReply(`internal error: ${(err as Error).message}`));
    }
    if (!msg.respond(data)) bus.log.warn({ subject }, 'request without a reply subject ignored');
  };

  const sub = bus.nc.subscribe(subject, {
    queue: options.queue,
    callback: (err, msg) => {
      if (err) {
        bus.log.error({ subject, err: err.message }, 'request subscription failed');
        return;
      }
      const done = answer(msg).finally(() => inFlight.delete(done));
      inFlight.add(done);
    },
  });

  return {
    async stop() {
      if (!sub.isClosed() && !bus.nc.isClosed()) await sub.drain();
      await Promise.allSettled(inFlight);
    },
  };
}

/** Sends a request and decodes the reply; rejects with a message naming the subject on timeout or no responders. */
export async function request<Req, Rep>(
  bus: Bus,
  subject: string,
  request: Codec<Req>,
  reply: Codec<Rep>,
  value: NoInfer<Req>,
  timeoutMs = 10_000,
): Promise<Rep> {
  let msg: Msg;
  try {
    msg = await bus.nc.request(subject, request.encode(value), { timeout: timeoutMs });
  } catch (err) {
    throw new Error(`request to ${subject} failed: ${(err as Error).message}`, { cause: err });
  }
  return reply.decode(msg.data);
}
