// Placement properties (fast-check): deterministic, no disk twice, failure-domain cap (so losing any one
// domain loses at most m shards, I8), offline disks skipped, unsatisfiable rules refused with a code,
// roughly uniform load, and removing an unused disk changes nothing.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { checkPoolLayout, domainOf, place, placementKey, replaceShard, type PlacementDisk } from '../lib/placement.js';

function pool(hosts: number, disksPerHost: number): PlacementDisk[] {
  const out: PlacementDisk[] = [];
  for (let h = 0; h < hosts; h++) {
    for (let d = 0; d < disksPerHost; d++) out.push({ id: `h${h}d${d}`, labels: { host: `h${h}`, rack: `r${h % 3}` } });
  }
  return out;
}

const shapeArb = fc
  .record({ hosts: fc.integer({ min: 1, max: 10 }), perHost: fc.integer({ min: 1, max: 5 }), k: fc.integer({ min: 1, max: 10 }), m: fc.integer({ min: 0, max: 4 }) })
  .filter(({ hosts, perHost, k, m }) => hosts * Math.min(perHost, Math.max(1, m)) >= k + m && hosts * perHost >= k + m);

describe('placement', () => {
  it('replaceShard moves one shard to an online disk the object does not use, keeping the domain cap; prefers a given disk when allowed', () => {
    fc.assert(
      fc.property(shapeArb, fc.string(), fc.nat(), fc.nat(), fc.nat(), ({ hosts, perHost, k, m }, id, shardSeed, offSeed, preferSeed) => {
        const disks = pool(hosts, perHost);
        const rule = { k, m, level: 'host' };
        const current = place(id, disks, rule);
        const shard = shardSeed % (k + m);
        const failed = current[shard];
        const withFailure = disks.map((d) => (d.id === failed || offSeed % 7 === disks.indexOf(d) % 7 && d.id !== failed && !current.includes(d.id) ? { ...d, online: false } : d));
        const prefer = disks[preferSeed % disks.length].id;
        let got: string;
        try {
          got = replaceShard(id, current, shard, withFailure, rule, prefer);
        } catch (err) {
          expect((err as { code?: string }).code).toBe('ERR_SV_PLACEMENT');
          return;
        }
        expect(got).not.toBe(failed);
        expect(withFailure.find((d) => d.id === got)?.online).not.toBe(false);
        const next = current.map((d, i) => (i === shard ? got : d));
        expect(new Set(next).size).toBe(k + m);
        const perDomain = new Map<string, number>();
        for (const d of next) perDomain.set(d.split('d')[0], (perDomain.get(d.split('d')[0]) ?? 0) + 1);
        for (const c of perDomain.values()) expect(c).toBeLessThanOrEqual(Math.max(1, m));
        // The preferred disk wins whenever it is eligible.
        const pd = withFailure.find((d) => d.id === prefer)!;
        const prefOk = pd.online !== false && !current.includes(prefer) && (perDomain.get(prefer.split('d')[0]) ?? 0) - (got === prefer ? 1 : 0) < Math.max(1, m);
        if (prefOk) expect(got).toBe(prefer);
        expect(replaceShard(id, current, shard, [...withFailure].reverse(), rule, prefer)).toBe(got); // deterministic
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic, never reuses a disk, and caps shards per failure domain', () => {
    fc.assert(
      fc.property(shapeArb, fc.string(), ({ hosts, perHost, k, m }, id) => {
        const disks = pool(hosts, perHost);
        const rule = { k, m, level: 'host' };
        const a = place(id, disks, rule);
        expect(place(id, [...disks].reverse(), rule)).toEqual(a); // order of the disk list does not matter
        expect(a).toHaveLength(k + m);
        expect(new Set(a).size).toBe(k + m);
        const perDomain = new Map<string, number>();
        for (const d of a) perDomain.set(d.split('d')[0], (perDomain.get(d.split('d')[0]) ?? 0) + 1);
        for (const c of perDomain.values()) expect(c).toBeLessThanOrEqual(Math.max(1, m));
        // I8: losing any one host leaves at least k shards (m = 0 has no redundancy to lose).
        if (m > 0) for (const lost of perDomain.keys()) expect(a.filter((d) => !d.startsWith(`${lost}d`)).length).toBeGreaterThanOrEqual(k);
      }),
      { numRuns: 200 },
    );
  });

  it('skips offline disks and refuses unsatisfiable rules with ERR_SV_PLACEMENT', () => {
    const disks = pool(6, 1);
    const offline = disks.map((d, i) => (i === 2 ? { ...d, online: false } : d));
    const placed = place('obj', offline, { k: 3, m: 2, level: 'host' });
    expect(placed).not.toContain('h2d0');
    expect(() => place('obj', offline, { k: 4, m: 2, level: 'host' })).toThrow(expect.objectContaining({ code: 'ERR_SV_PLACEMENT' }));
    expect(() => place('obj', pool(2, 4), { k: 4, m: 2, level: 'host' })).toThrow(expect.objectContaining({ code: 'ERR_SV_PLACEMENT' }));
    expect(() => place('obj', [{ id: 'x', labels: {} }], { k: 1, m: 0, level: 'host' })).toThrow(expect.objectContaining({ code: 'ERR_SV_PLACEMENT' }));
    expect(() => place('obj', [{ id: 'x', labels: {} }, { id: 'x', labels: {} }], { k: 1, m: 0, level: 'disk' })).toThrow(
      expect.objectContaining({ code: 'ERR_SV_PLACEMENT' }),
    );
    expect(() => place('obj', pool(3, 1), { k: 0, m: 1, level: 'host' })).toThrow(expect.objectContaining({ code: 'ERR_SV_OUT_OF_RANGE' }));
  });

  it('checkPoolLayout accepts layouts that keep every object readable after losing a domain, and only those', () => {
    expect(() => checkPoolLayout(pool(6, 2), { k: 4, m: 2, level: 'host' })).not.toThrow();
    expect(() => checkPoolLayout(pool(3, 4), { k: 4, m: 2, level: 'host' })).not.toThrow(); // 3 hosts x 2 = 6
    expect(() => checkPoolLayout(pool(2, 4), { k: 4, m: 2, level: 'host' })).toThrow(expect.objectContaining({ code: 'ERR_SV_PLACEMENT' }));
    expect(() => checkPoolLayout(pool(6, 2), { k: 4, m: 2, level: 'host', maxShardsPerDomain: 3 })).toThrow(
      expect.objectContaining({ code: 'ERR_SV_PLACEMENT' }),
    );
    expect(domainOf({ id: 'a', labels: { rack: 'r1' } }, 'rack')).toBe('r1');
    expect(domainOf({ id: 'a', labels: {} }, 'disk')).toBe('a');
  });

  it('spreads shards roughly evenly and removing a disk that holds none of an object changes nothing', () => {
    const disks = pool(8, 2);
    const rule = { k: 4, m: 2, level: 'host' };
    const load = new Map<string, number>();
    const ids = Array.from({ length: 2000 }, (_, i) => `object-${i}`);
    for (const id of ids) for (const d of place(id, disks, rule)) load.set(d, (load.get(d) ?? 0) + 1);
    const mean = (2000 * 6) / disks.length;
    for (const d of disks) expect(Math.abs((load.get(d.id) ?? 0) - mean) / mean).toBeLessThan(0.2);
    let moved = 0;
    let total = 0;
    for (const id of ids.slice(0, 300)) {
      const before = place(id, disks, rule);
      const victim = disks.find((d) => !before.includes(d.id))!;
      expect(place(id, disks.filter((d) => d !== victim), rule)).toEqual(before);
      const holder = before[0];
      const after = place(id, disks.filter((d) => d.id !== holder), rule);
      moved += after.filter((d, i) => d !== before[i]).length;
      total += before.length;
    }
    // Removing a disk that holds shard 0 re-places that shard; the others mostly stay (a shard moves only when
    // the re-placed one took its disk or its domain slot).
    expect(moved / 300).toBeLessThan(2.5);
    expect(total).toBe(1800);
  });

  it('placementKey is the bytes existing placements were chosen with (bucket NUL key NUL id)', () => {
    expect(placementKey('b', 'k/é', 'ab12')).toBe('b\0k/é\0ab12');
    const disks: PlacementDisk[] = Array.from({ length: 9 }, (_, i) => ({ id: `d${i}`, labels: { host: `h${i}` } }));
    const rule = { k: 4, m: 2, level: 'host' };
    expect(place(placementKey('b', 'k', 'v1'), disks, rule)).toEqual(place('b\0k\0v1', disks, rule));
  });
});

