import { createHash, timingSafeEqual } from 'node:crypto';
import { FlightError } from './errors.js';
import type { HandshakeReply } from './types.js';

const BEARER = /^bearer\s+(.+)$/i;
const BASIC = /^basic\s+(.+)$/i;

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** A comparison whose time does not depend on where the strings differ. */
function sameSecret(given: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(given), expected);
}

/** The password of an `authorization: Basic base64(user:password)` header, if that is what it is. */
function basicPassword(header: string): string | undefined {
  const match = BASIC.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1].trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/**
 * One shared bearer token for a Flight server: every call but Handshake must carry
 * `authorization: Bearer <token>`. A Handshake proves the token by a bearer header, a basic-auth
 * header whose password is the token (any user name), or the token as payload; it is answered
 * with the token, both as payload and as an `authorization: Bearer <token>` response header
 * (what Flight SQL clients read after a basic-auth handshake).
 */
export function bearerTokenAuth(token: string): {
  authenticate(headers: Record<string, string>): void;
  handshake(payload: Buffer, headers: Record<string, string>): HandshakeReply;
} {
  if (token.length === 0) throw new Error('bearerTokenAuth needs a non-empty token');
  const expected = digest(token);
  const reply: HandshakeReply = { payload: Buffer.from(token, 'utf8'), headers: { authorization: `Bearer ${token}` } };

  const bearerOk = (header: string | undefined): boolean => {
    const match = header === undefined ? null : BEARER.exec(header);
    return match !== null && sameSecret(match[1].trim(), expected);
  };

  return {
    authenticate(headers) {
      if (bearerOk(headers.authorization)) return;
      throw FlightError.unauthenticated(
        headers.authorization === undefined
          ? 'this Flight service needs a token: send the header "authorization: Bearer <token>"'
          : 'the authorization header does not carry the right bearer token',
      );
    },
    handshake(payload, headers) {
      const header = headers.authorization;
      if (bearerOk(header)) return reply;
      const password = header === undefined ? undefined : basicPassword(header);
      if (password !== undefined && sameSecret(password, expected)) return reply;
      if (payload.byteLength > 0 && sameSecret(payload.toString('utf8'), expected)) return reply;
      throw FlightError.unauthenticated('Handshake refused: send the token as bearer header, as basic-auth password or as payload');
    },
  };
}
