// A minimal module tree: named parameters (HF-style dotted names), children, train/eval, state dicts.
import { defaultDevice, keep, noGrad, type Device, type Tensor } from '../torch/index.js';

/** A state dict that does not fit the model: names the tensors and what to do. */
export class StateDictError extends Error {
  override name = 'StateDictError';
}

export abstract class Module {
  private readonly ownParams = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();
  training = true;

  /** Registers a trainable tensor under `name` (kept alive outside any tidy scope). */
  protected param(name: string, t: Tensor): Tensor {
    keep(t);
    t.requiresGrad_(true);
    this.ownParams.set(name, t);
    return t;
  }

  /** Registers a child module under `name` (its parameters become `name.<param>`). */
  protected child<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  /** Removes a child registered with `child` (a merged LoRA adapter). */
  protected removeChild(name: string): void {
    this.children.delete(name);
  }

  /** Every module of the tree by dotted path (this one at `prefix` without its trailing dot, '' for the root). */
  namedModules(prefix = ''): Map<string, Module> {
    const out = new Map<string, Module>([[prefix.replace(/\.$/, ''), this]]);
    for (const [n, c] of this.children) for (const [k, m] of c.namedModules(`${prefix}${n}.`)) out.set(k, m);
    return out;
  }

  namedParameters(prefix = ''): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [n, t] of this.ownParams) out.set(prefix + n, t);
    for (const [n, c] of this.children) for (const [k, t] of c.namedParameters(`${prefix}${n}.`)) out.set(k, t);
    return out;
  }

  parameters(): Tensor[] {
    return [...this.namedParameters().values()];
  }

  /** The parameters an optimiser should update: all of them, unless some were frozen (LoRA freezes the base weights). */
  trainableParameters(): Tensor[] {
    return this.parameters().filter((p) => p.requiresGrad);
  }

  /** Where the parameters live: the first one's device (every parameter of a model is on one device), else the default device. */
  get device(): Device {
    return this.firstParameter()?.device ?? defaultDevice();
  }

  /** The first parameter of the tree (depth first), without listing the others. */
  private firstParameter(): Tensor | undefined {
    for (const p of this.ownParams.values()) return p;
    for (const c of this.children.values()) {
      const first = c.firstParameter();
      if (first) return first;
    }
    return undefined;
  }

  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.numel, 0);
  }

  train(on = true): this {
    this.training = on;
    for (const c of this.children.values()) c.train(on);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** The live parameter tensors by name (not copies). */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.namedParameters());
  }

  /**
   * Copies tensors into the parameters. Every parameter must be present with the same shape;
   * names listed in `ignore` (e.g. a tied LM head) may appear without a parameter.
   */
  loadStateDict(sd: Record<string, Tensor> | Map<string, Tensor>, opts: { source?: string; ignore?: string[] } = {}): void {
    const entries = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const own = this.namedParameters();
    const source = opts.source ?? 'state dict';
    const missing = [...own.keys()].filter((k) => !entries.has(k));
    const unexpected = [...entries.keys()].filter((k) => !own.has(k) && !(opts.ignore ?? []).includes(k));
    if (missing.length || unexpected.length) {
      throw new StateDictError(
        `${source} does not match the model: ` +
          [missing.length ? `missing ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ` (+${missing.length - 8} more)` : ''}` : '',
            unexpected.length ? `unexpected ${unexpected.slice(0, 8).join(', ')}${unexpected.length > 8 ? ` (+${unexpected.length - 8} more)` : ''}` : '']
            .filter(Boolean)
            .join('; ') +
          '. Is this checkpoint of the same architecture and size (config.json)?',
      );
    }
    noGrad(() => {
      for (const [name, p] of own) {
        const t = entries.get(name) as Tensor;
        if (t.shape.join() !== p.shape.join()) {
          throw new StateDictError(`${source}: tensor '${name}' has shape [${t.shape}] but the model expects [${p.shape}]`);
        }
        p.copy_(t);
      }
    });
  }
}

/** A module that only groups named children (HF's `attn`, `mlp`, `h` levels of the name tree). */
export class Container extends Module {
  add<M extends Module>(name: string, m: M): M {
    return this.child(name, m);
  }
}
