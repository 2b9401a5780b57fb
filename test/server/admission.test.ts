/** Admission: slots, FIFO queue, 429 past the queue, aborts while waiting. */
import { Admission } from '../../lib/server/admission';
import { ApiError } from '../../lib/server/api-error';

const never = new AbortController().signal;

test('grants up to capacity, queues FIFO, and a big request at the head is not overtaken', async () => {
  const a = new Admission(3, 4);
  const r1 = await a.acquire(2, never);
  const order: string[] = [];
  const big = a.acquire(3, never).then((r) => (order.push('big'), r));
  const small = a.acquire(1, never).then((r) => (order.push('small'), r));
  await Promise.resolve();
  expect(a.running).toBe(1);
  expect(a.waiting).toBe(2);
  expect(a.slotsInUse).toBe(2);
  r1();
  const rb = await big;
  expect(order).toEqual(['big']);
  expect(a.slotsInUse).toBe(3);
  rb();
  (await small)();
  expect(order).toEqual(['big', 'small']);
  expect(a.slotsInUse).toBe(0);
  expect(a.running).toBe(0);
});

test('release is idempotent and several waiters are granted in one release', async () => {
  const a = new Admission(2, 4);
  const r = await a.acquire(2, never);
  const w = [a.acquire(1, never), a.acquire(1, never), a.acquire(1, never)];
  r();
  r();
  const [x, y] = await Promise.all([w[0], w[1]]);
  expect(a.slotsInUse).toBe(2);
  expect(a.waiting).toBe(1);
  x();
  (await w[2])();
  y();
  expect(a.slotsInUse).toBe(0);
});

test('a full queue answers 429 with Retry-After', async () => {
  const a = new Admission(1, 1);
  const r = await a.acquire(1, never);
  const waiting = a.acquire(1, never);
  const err = await a.acquire(1, never).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApiError);
  expect((err as ApiError).status).toBe(429);
  expect(Number((err as ApiError).headers['Retry-After'])).toBeGreaterThanOrEqual(1);
  r();
  (await waiting)();
});

test('an abort while waiting leaves the queue and lets the next one in', async () => {
  const a = new Admission(1, 4);
  const r = await a.acquire(1, never);
  const c = new AbortController();
  const aborted = a.acquire(1, c.signal);
  const next = a.acquire(1, never);
  c.abort(new Error('gone'));
  await expect(aborted).rejects.toThrow('gone');
  expect(a.waiting).toBe(1);
  r();
  (await next)();
  expect(a.slotsInUse).toBe(0);
});
