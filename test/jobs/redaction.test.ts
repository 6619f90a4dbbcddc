import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { credsSecrets, Redactor } from "../../core/agent/redact.ts";
import { rotateToken } from "../../core/auth/token.ts";
import { makeApp, tempDir } from "../helpers/app.ts";
import { waitFor } from "../helpers/nats.ts";

/**
 * Every secret the process holds is redacted from job output, whether it was
 * configured or generated. `date +TEXT` prints TEXT back, which makes it the
 * simplest way to put a value into a command's output.
 */
const JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJqdGkiOiJBQkNERUZHSElKS0xNTk9QIiwiaWF0IjoxNzAwMDAwMDAwfQ.c2lnbmF0dXJlLW9mLXRoZS11c2VyLWp3dC0wMTIzNDU2Nzg5";
const SEED = "SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4";
const CREDS = `-----BEGIN NATS USER JWT-----
${JWT}
------END NATS USER JWT------

************************* IMPORTANT *************************
NKEY Seed printed below can be used to sign and prove identity.

-----BEGIN USER NKEY SEED-----
${SEED}
------END USER NKEY SEED------
`;

describe("Redaction", () => {
  test("the secret lines of a NATS credentials file are its JWT and its seed", () => {
    expect(credsSecrets(CREDS)).toEqual([JWT, SEED]);
  });

  test("nkey seeds and JWTs are redacted by shape too", () => {
    const out = new Redactor().redact(`seed ${SEED.replace("SUA", "SOA")} token ${JWT}x`);
    expect(out).toBe("seed [REDACTED:nkey-seed] token [REDACTED:jwt]");
  });

  test("the generated API token is redacted, also after a rotation", async () => {
    // No AUTH_TOKEN: the first start generates one into the data dir.
    const h = await makeApp({ AUTH_TOKEN: undefined });
    try {
      const echo = async (text: string) => {
        const res = await h.app.handle(
          new Request("http://localhost/api/jobs?wait=5000", {
            method: "POST",
            headers: { authorization: `Bearer ${h.s.token.token}`, "content-type": "application/json" },
            body: JSON.stringify({ type: "command", argv: ["date", `+${text}`] }),
          }),
        );
        return (await res.json()).result.stdout as string;
      };
      const generated = h.s.token.token;
      expect(h.s.token.generated).toBe(true);
      expect(await echo(`token=${generated}`)).toBe("token=[REDACTED]\n");
      const rotated = rotateToken(h.dataDir);
      // The running server picks the new token up within a second; from then on it is redacted too.
      await waitFor("rotated token redacted", async () => h.s.token.token === rotated && (await echo(`token=${rotated}`)) === "token=[REDACTED]\n", 5_000, 100);
    } finally {
      await h.close();
    }
  }, 20_000);

  test("NATS credentials and every secret-kind setting are redacted from command output", async () => {
    const dir = tempDir();
    const creds = join(dir, "worker.creds");
    writeFileSync(creds, CREDS, { mode: 0o600 });
    const values = { EMBEDDINGS_API_KEY: "embeddings-key-value-31415926", QDRANT_API_KEY: "qdrant-key-value-27182818", VOYAGE_API_KEY: "voyage-key-value-16180339" };
    const h = await makeApp({ NATS_CREDS: creds, ...values });
    try {
      for (const secret of [JWT, SEED, ...Object.values(values)]) {
        const job = await (await h.request("/api/jobs?wait=5000", { method: "POST", json: { type: "command", argv: ["date", `+x${secret}x`] } })).json();
        expect(job.status).toBe("completed");
        expect(job.result.stdout).not.toContain(secret);
        expect(job.result.stdout).toMatch(/^x\[REDACTED(:[a-z-]+)?\]x\n$/);
      }
    } finally {
      await h.close();
    }
  }, 20_000);
});
