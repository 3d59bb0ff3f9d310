/** The subscriber's reading of `seq`: pure rules, no sockets. */
import { describe, expect, it } from "vitest";
import { SeqTracker } from "../../src/client/subscribe.js";

describe("SeqTracker", () => {
  it("takes the first message as it comes, then counts what is missing", () => {
    const t = new SeqTracker();
    expect(t.see(40)).toBe("first");
    expect(t.see(41)).toBe("in order");
    expect(t.see(44)).toEqual({ missed: 2 });
    expect(t.see(45)).toBe("in order");
  });

  it("drops what a fetched snapshot already covers, and only that", () => {
    const t = new SeqTracker();
    t.see(10);
    expect(t.see(12)).toEqual({ missed: 1 });
    t.covered(15);
    expect(t.see(13)).toBe("covered");
    expect(t.see(15)).toBe("covered");
    expect(t.see(16)).toBe("in order");
    expect(t.see(18)).toEqual({ missed: 1 });
  });

  it("ignores a snapshot older than what it has seen", () => {
    const t = new SeqTracker();
    t.see(10);
    t.covered(9);
    expect(t.see(11)).toBe("in order");
  });

  it("reads a lower seq as a new daemon counting from 1", () => {
    const t = new SeqTracker();
    t.see(500);
    expect(t.see(1)).toBe("in order");
    expect(t.see(2)).toBe("in order");
    t.see(300);
    expect(t.see(4)).toEqual({ missed: 3 });
  });
});
