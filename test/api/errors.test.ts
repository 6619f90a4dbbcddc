import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Value } from "@sinclair/typebox/value";
import { AppError, ERRORS, type ErrorCode, JobError, WIRE_ERRORS, WireErrorSchema } from "../../core/protocol/index.ts";
import { makeApp } from "../helpers/app.ts";

let h: Awaited<ReturnType<typeof makeApp>>;
beforeAll(async () => {
  h = await makeApp();
});
afterAll(async () => {
  await h.close();
});

describe("Errors in one table", () => {
  test("every code has an HTTP error status and a description", () => {
    for (const [code, e] of Object.entries(ERRORS)) {
      expect(e.status, code).toBeGreaterThanOrEqual(400);
      expect(e.status, code).toBeLessThan(600);
      expect(e.description.length, code).toBeGreaterThan(10);
    }
  });

  test("an error takes its status from the table, and the API answers with it", async () => {
    for (const code of Object.keys(ERRORS) as ErrorCode[]) expect(new AppError(code, "x").status).toBe(ERRORS[code].status);
    const res = await h.request("/api/conversations/nope");
    expect(res.status).toBe(ERRORS.not_found.status);
    expect(await res.json()).toEqual({ error: { code: "not_found", message: "conversation nope not found" } });
    const bad = await h.request("/api/jobs", { method: "POST", json: { type: "command", command: "date; reboot" } });
    expect(bad.status).toBe(ERRORS.invalid_job.status);
    expect((await bad.json()).error.code).toBe("invalid_job");
  });

  test("the wire codes are exactly the table's wire entries, and a job's status schema accepts only those", () => {
    const wire = Object.entries(ERRORS)
      .filter(([, e]) => "wire" in e)
      .map(([c]) => c);
    expect(Object.keys(WIRE_ERRORS).sort()).toEqual(wire.sort());
    for (const code of wire) expect(Value.Check(WireErrorSchema, { code, message: "m" })).toBe(true);
    expect(Value.Check(WireErrorSchema, { code: "not_found", message: "m" })).toBe(false);
  });

  test("a wire error turns back into a typed error on the other side; an unknown code becomes internal", () => {
    const e = JobError.fromWire({ code: "refused", message: "kubectl -s is not in its grammar" }, { stdout: "" });
    expect(e).toBeInstanceOf(JobError);
    expect(e).toBeInstanceOf(AppError);
    expect([e.code, e.status, e.message]).toEqual(["refused", ERRORS.refused.status, "kubectl -s is not in its grammar"]);
    expect(e.result).toEqual({ stdout: "" });
    expect(e.toWire()).toEqual({ code: "refused", message: "kubectl -s is not in its grammar" });
    expect(JobError.fromWire({ code: "made_up", message: "?" }).code).toBe("internal");
  });
});
