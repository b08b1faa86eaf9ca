import { describe, expect, it } from "vitest";
import { matches, parseWhere, WhereSyntaxError } from "../src/platforms/dci/emulator/where.js";

const servers = [
  {
    id: 1,
    name: "web-01",
    domain: "web-01.extended.example",
    owner_email: null,
    is_new: true,
    location_id: 3,
  },
  { id: 2, name: "Srv-10", domain: "srv-10.example", owner_email: "a@b.c", is_new: false, location_id: 3 },
  { id: 3, name: "Srv-2", domain: "srv-2.example", owner_email: "a@b.c", is_new: false, location_id: 1 },
  { id: 4, name: "db's", domain: "db.example", owner_email: null, is_new: false, location_id: 2 },
];

function ids(where: string): number[] {
  const tree = parseWhere(where);
  return servers.filter((server) => matches(tree, server)).map((server) => server.id);
}

describe("DCImanager where language (the emulator's parser)", () => {
  it("evaluates the filters seen in the stored scripts", () => {
    expect(ids("(owner_email IS null) AND is_new EQ false")).toEqual([4]);
    expect(ids("(owner_email EQ 'a@b.c') AND is_new EQ false AND location_id EQ 3")).toEqual([2]);
    expect(ids("NOT domain CP '%extended.%' AND (location_id EQ 3)")).toEqual([2]);
    expect(ids("name CP '%Srv-1%'")).toEqual([2]);
  });

  it("binds NOT tighter than AND, and AND tighter than OR", () => {
    // NOT applies to the first comparison only: (NOT loc 3) AND is_new false -> 3, 4.
    expect(ids("NOT location_id EQ 3 AND is_new EQ false")).toEqual([3, 4]);
    expect(ids("NOT (location_id EQ 3 AND is_new EQ false)")).toEqual([1, 3, 4]);
    // a OR b AND c == a OR (b AND c)
    expect(ids("id EQ 1 OR location_id EQ 3 AND is_new EQ false")).toEqual([1, 2]);
    expect(ids("(id EQ 1 OR location_id EQ 3) AND is_new EQ false")).toEqual([2]);
  });

  it("compares like SQL: CP with % is a case-insensitive LIKE, numbers match quoted numbers, NE skips nulls", () => {
    expect(ids("name CP 'srv-%'")).toEqual([2, 3]);
    expect(ids("name CP 'Srv-1'")).toEqual([]);
    expect(ids("location_id EQ '3'")).toEqual([1, 2]);
    expect(ids("owner_email NE 'a@b.c'")).toEqual([]);
    expect(ids("owner_email IS NOT null")).toEqual([2, 3]);
    expect(ids("name EQ 'db''s'")).toEqual([4]);
    expect(ids("name eq 'web-01' and is_new eq true")).toEqual([1]);
  });

  it.each([
    ["name EQ", "Expected a value", 7],
    ["name LIKE 'x'", "Expected EQ, NE, CP or IS after name", 5],
    ["name EQ 'open", "Unterminated string", 8],
    ["(id EQ 1", 'Expected ")"', 8],
    ["id EQ 1 id EQ 2", 'Unexpected "id"', 8],
    ["owner_email IS 'x'", "Expected null after IS", 15],
    ["id EQ 1 AND", "Expected a field name but found end of filter", 11],
    ["id EQ bare", "Expected a value", 6],
    ["id = 1", 'Unexpected character "="', 3],
  ])("refuses %j with a message and position", (where, message, position) => {
    let caught: unknown;
    try {
      parseWhere(where);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(WhereSyntaxError);
    expect((caught as WhereSyntaxError).message).toContain(message);
    expect((caught as WhereSyntaxError).position).toBe(position);
  });
});
