/** Identifier types shared by the hosts, the protocols and the trace. */

/** A node (one process) in a run, such as `poe.net` or `j.test/handler:afrikaans`. */
export type NodeId = string;

/** A connection id, unique within one node: `out:3` for ones the node opened, `in:7` for ones it accepted. */
export type ConnId = string;

/** Issues `prefix:1`, `prefix:2`, ... deterministically. */
export class IdSequence {
  private last = 0;
  constructor(private readonly prefix: string) {}
  next(): string {
    this.last += 1;
    return `${this.prefix}:${this.last}`;
  }

  /** What `next` will return, without taking it. */
  peek(): string {
    return `${this.prefix}:${this.last + 1}`;
  }
}
