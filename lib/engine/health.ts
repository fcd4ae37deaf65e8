/**
 * Member health (issue 11: engine/health.ts): which pool members are usable now, why the others are not, when
 * each is looked at again, and the I/O errors counted per member since open. A member that fails its check
 * (identity, device, a read error on its identity file) is unusable -- its shards are erasures, no new shards
 * go there -- and is re-checked with backoff (REPROBE_FIRST_MS doubling to REPROBE_MAX_MS), so a transient
 * error does not take it away for the life of the process. Writes re-probe first; status, scrub and repair
 * check every member anyway.
 */
import type { VaultEvents, DiskDroppedEvent } from '../events.js';
import type { MemberConfig, ShardStore, StoreCondition, StoreProblem } from '../store/shard-store.js';

/** A member's condition as status() reports it: online, draining, removed, or why it is unusable. */
export type MemberCondition = 'online' | 'draining' | 'removed' | StoreCondition;

const REPROBE_FIRST_MS = 1000;
const REPROBE_MAX_MS = 60_000;

export class MemberHealth {
  /** Why each member is unusable right now (absent: usable). */
  readonly #problems = new Map<string, string>();
  /** What kind of problem each unusable member has, beside #problems' text. */
  readonly #conditions = new Map<string, StoreCondition>();
  readonly #probe = new Map<string, { nextMs: number; delayMs: number }>();
  /** The last reason each member was unusable, and when it went and came back. */
  readonly #lastProblem = new Map<string, { problem: string; sinceMs: number; restoredMs?: number }>();
  readonly #ioErrors = new Map<string, { read: number; write: number }>();

  constructor(
    private readonly members: () => readonly MemberConfig[],
    private readonly storeOf: (member: MemberConfig) => ShardStore,
    private readonly events: VaultEvents,
  ) {}

  /** Whether member `id` can be read now (active or draining, its check passed). */
  usable(member: MemberConfig | undefined): boolean {
    return member !== undefined && member.state !== 'removed' && !this.#problems.has(member.id);
  }

  problem(id: string): string | undefined {
    return this.#problems.get(id);
  }

  problems(): Array<[string, string]> {
    return [...this.#problems];
  }

  /** Checks every member now (open, status, scrub, repair). */
  async checkAll(): Promise<void> {
    for (const d of this.members()) this.#note(d, d.state === 'removed' ? undefined : await this.storeOf(d).check());
  }

  /** Re-checks unusable members whose backoff has passed; a healthy one is usable again at once. */
  async reprobe(): Promise<void> {
    const now = Date.now();
    const due = this.members().filter((d) => d.state !== 'removed' && this.#problems.has(d.id) && (this.#probe.get(d.id)?.nextMs ?? 0) <= now);
    await Promise.all(due.map(async (d) => {
      const found = await this.storeOf(d).check().catch((): StoreProblem => ({ condition: 'unreadable', problem: 'identity check failed' }));
      this.#note(d, found);
    }));
  }

  /** Records one member's check: usable again (and when), or unusable (why, and when to look again). */
  #note(d: MemberConfig, found: StoreProblem | undefined): void {
    const now = Date.now();
    const problem = d.state === 'removed' ? 'removed from the pool' : found?.problem;
    if (problem === undefined) {
      if (this.#problems.has(d.id)) {
        const last = this.#lastProblem.get(d.id);
        if (last !== undefined) last.restoredMs = now;
      }
      this.#problems.delete(d.id);
      this.#probe.delete(d.id);
    } else {
      if (!this.#problems.has(d.id) && d.state !== 'removed') {
        this.dropped(d.id, 'check', { message: problem, ...(found?.errnoName !== undefined ? { code: found.errnoName } : {}) });
        this.#lastProblem.set(d.id, { problem, sinceMs: now });
      }
      this.#problems.set(d.id, problem);
      const delayMs = Math.min(REPROBE_MAX_MS, this.#probe.has(d.id) ? this.#probe.get(d.id)!.delayMs * 2 : REPROBE_FIRST_MS);
      this.#probe.set(d.id, { nextMs: now + delayMs, delayMs });
    }
    if (found === undefined) this.#conditions.delete(d.id);
    else this.#conditions.set(d.id, found.condition);
  }

  countError(id: string, kind: 'read' | 'write'): void {
    const e = this.#ioErrors.get(id) ?? { read: 0, write: 0 };
    e[kind]++;
    this.#ioErrors.set(id, e);
  }

  errors(id: string): { read: number; write: number } {
    return { ...(this.#ioErrors.get(id) ?? { read: 0, write: 0 }) };
  }

  lastProblem(id: string): { problem: string; sinceMs: number; restoredMs?: number } | undefined {
    const last = this.#lastProblem.get(id);
    return last === undefined ? undefined : { ...last };
  }

  /** A member dropped out of an operation (I9: that file is lost, never retried): 'diskDropped', with its errno. */
  dropped(disk: string, op: DiskDroppedEvent['op'], err: unknown): void {
    const e = (err ?? {}) as { errno?: number; syscall?: string; code?: string; message?: string };
    this.events.emit('diskDropped', {
      disk, op, ...(typeof e.errno === 'number' ? { errno: e.errno } : {}), ...(typeof e.syscall === 'string' ? { syscall: e.syscall } : {}),
      ...(typeof e.code === 'string' ? { code: e.code } : {}), message: typeof e.message === 'string' ? e.message : String(err),
    });
  }

  /**
   * What condition member `d` is in and, unless it is online (or removed), the CLI command that is the work to
   * do: a missing or emptied directory, a foreign identity, an unmounted disk are reported as such, with a hint.
   */
  condition(d: MemberConfig): { condition: MemberCondition; hint?: string } {
    const spec = `${d.path}${Object.keys(d.labels).length > 0 ? `:${Object.entries(d.labels).map(([k, v]) => `${k}=${v}`).join(',')}` : ''}`;
    const replace = (path: string) => `shardvault disk replace ${d.id} ${path}`;
    const newSpec = `NEWPATH${Object.keys(d.labels).length > 0 ? spec.slice(d.path.length) : ''}`;
    if (d.state === 'removed') return { condition: 'removed' };
    const condition = this.#conditions.get(d.id);
    switch (condition) {
      case undefined:
        return d.state === 'draining'
          ? { condition: 'draining', hint: `run \`shardvault repair\` to move its shards, then \`shardvault disk rm ${d.id}\`` }
          : { condition: 'online' };
      case 'missing':
        return { condition, hint: `directory ${d.path} is gone: mount or restore it, or run \`${replace(newSpec)}\` then \`shardvault repair\`` };
      case 'empty':
        return { condition, hint: `${d.path} holds no pool disk (emptied or a new disk): run \`${replace(spec)}\` then \`shardvault repair\`` };
      case 'foreign':
        return { condition, hint: `${d.path} holds another disk (${this.#problems.get(d.id) ?? ''}): mount the right disk there, or run \`${replace(newSpec)}\` then \`shardvault repair\`` };
      case 'wrong-device':
        return { condition, hint: `${d.path} is not on the disk's device: mount the disk at ${d.path}` };
      case 'unreadable':
        return { condition, hint: `${d.path} cannot be read (${this.#problems.get(d.id) ?? ''}): check the device; if it failed, run \`${replace(newSpec)}\` then \`shardvault repair\`` };
    }
  }

  /** Members that are work to do (every condition but online and removed), with the hint that fixes each. */
  toFix(): Array<{ id: string; path: string; condition: MemberCondition; hint?: string }> {
    return this.members().flatMap((d) => {
      const h = this.condition(d);
      return h.condition === 'online' || h.condition === 'removed' ? [] : [{ id: d.id, path: d.path, ...h }];
    });
  }
}
