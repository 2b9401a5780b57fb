/**
 * Test helper: assert that a promise rejects with exactly the given error
 * class and that the message names every culprit given (path, tensor, field…).
 */
import { HybridLMError } from '../../lib/errors';

type ErrorClass = new (message: string) => HybridLMError;

/** Awaits `p`, expecting a rejection of class `cls` whose message contains each fragment. */
export async function expectRejects(p: Promise<unknown>, cls: ErrorClass, ...fragments: string[]): Promise<HybridLMError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  if (caught === undefined) throw new Error(`expected ${cls.name}, but the call succeeded`);
  if (!(caught instanceof cls) || caught.constructor !== cls) {
    throw new Error(`expected ${cls.name}, got ${(caught as Error)?.constructor?.name}: ${(caught as Error)?.message}`);
  }
  for (const f of fragments) {
    if (!caught.message.includes(f)) throw new Error(`message ${JSON.stringify(caught.message)} does not mention ${JSON.stringify(f)}`);
  }
  return caught;
}
