import { AuthctxError } from '../errors.js';
import type { UserContext } from './context-source.js';

/** Fields whose values become headers or cache keys: no control characters (CR, LF, NUL, …). */
const controlChars = /[\u0000-\u001f\u007f]/;
/** Far above any real context; a bigger reply is not a context but a bug or an attack. */
const maxListLength = 10_000;

function malformed(reason: string): AuthctxError {
  return new AuthctxError('AUTHCTX_ERR_CONTEXT_MALFORMED', `the auth context source returned a malformed reply: ${reason}`);
}

function text(value: unknown, field: string, allowEmpty: boolean): string {
  if (typeof value !== 'string') throw malformed(`${field} is not a string`);
  if (!allowEmpty && value === '') throw malformed(`${field} is empty`);
  if (controlChars.test(value)) throw malformed(`${field} contains a control character`);
  return value;
}

function textList(value: unknown, field: string): string[] {
  if (!Array.isArray(value)) throw malformed(`${field} is not an array`);
  if (value.length > maxListLength) throw malformed(`${field} has more than ${maxListLength} items`);
  return value.map((item, i) => text(item, `${field}[${i}]`, false));
}

/**
 * Checks that `raw` (a parsed JSON reply) is the context of `expectedEmail` (normalized) and
 * returns a copy. Throws `AUTHCTX_ERR_CONTEXT_MALFORMED` on any other shape, and when the
 * reply is about another email: such a reply is never injected. `null` is not accepted
 * here; callers map a null reply to "unknown user" before calling.
 */
export function parseUserContext(raw: unknown, expectedEmail: string): UserContext {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw malformed(`expected an object, got ${Array.isArray(raw) ? 'an array' : raw === null ? 'null' : typeof raw}`);
  }
  const reply = raw as Record<string, unknown>;
  const email = text(reply.email, 'email', false);
  if (email !== expectedEmail) throw malformed('the reply is for another email');
  const context: UserContext = {
    ...reply,
    user_id: text(reply.user_id, 'user_id', false),
    email,
    role: text(reply.role, 'role', false),
    region: text(reply.region, 'region', true),
    regions: textList(reply.regions, 'regions'),
    scope: text(reply.scope, 'scope', false),
    slots: textList(reply.slots, 'slots'),
  };
  return context;
}
