// Memory scopes: tidy(fn) frees every tensor created inside fn except those it returns; keep(t) exempts one;
// chain(x, ...fns) frees each intermediate of a sequence of ops as soon as the next op has used it.

/** Anything that owns native memory and can be freed now. */
export interface Disposable {
  dispose(): void;
  /**
   * Called when the object is in no scope (created outside every tidy(), kept, or returned from
   * the outermost one): from then on it must free itself when garbage-collected. Objects inside
   * a scope need no finalizer, which is what makes creating a tensor cheap.
   */
  adopt?(): void;
}

// Each open scope lists the tensors created in it, in order: a push per tensor is cheaper than a Set
// insertion, which also gives every new object an identity hash.
const scopes: Disposable[][] = [];

/** Called by every new tensor: the innermost open scope takes ownership; outside any scope, the GC does. */
export function track(t: Disposable): void {
  const scope = scopes[scopes.length - 1];
  if (scope) scope.push(t);
  else t.adopt?.();
}

/** Removes `t` from every open scope, so no tidy() frees it (the GC will, unless disposed). Returns t. */
export function keep<T extends Disposable>(t: T): T {
  let held = false;
  for (const s of scopes) {
    const i = s.lastIndexOf(t); // a tensor is kept soon after it is made: search from the end
    if (i >= 0) {
      s.splice(i, 1);
      held = true;
    }
  }
  if (held) t.adopt?.();
  return t;
}

/** Adds every object reachable from a tidy() result through arrays, Maps and plain objects to `into`. */
function collect(value: unknown, into: Set<unknown>): void {
  if (value === null || typeof value !== 'object' || into.has(value)) return;
  into.add(value);
  if (Array.isArray(value)) for (const v of value) collect(v, into);
  else if (value instanceof Map) for (const v of value.values()) collect(v, into);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, into);
}

/**
 * Runs `fn` and then disposes every tensor created during it, except the tensors found in its
 * result (a tensor, or arrays / plain objects / Maps holding tensors), which move to the
 * enclosing scope. Scopes nest. `fn` must be synchronous.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Disposable[] = [];
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) throw new Error('tidy() takes a synchronous function; async work cannot be scoped');
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  const survivors = new Set<unknown>();
  collect(result, survivors);
  scopes.pop();
  for (const t of scope) {
    if (survivors.has(t)) track(t);
    else t.dispose();
  }
  return result;
}

/**
 * Applies `fns` in order, x -> f1(x) -> f2(f1(x)) -> ..., and disposes each intermediate result as
 * soon as the next function has returned, as PyTorch's reference counting frees a temporary. A
 * forward pass written this way reuses memory that is still in cache instead of growing its tidy
 * scope by every activation. Neither `x` nor the final result is disposed; a function may return
 * its input. Autograd is unaffected: the graph holds its own references to the tensors backward needs.
 */
export function chain<T extends Disposable>(x: T, ...fns: ((t: T) => T)[]): T {
  let cur = x;
  for (const fn of fns) {
    const next = fn(cur);
    if (cur !== x && next !== cur) cur.dispose();
    cur = next;
  }
  return cur;
}
