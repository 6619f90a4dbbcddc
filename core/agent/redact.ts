/**
 * Secrets in command output or HTTP bodies are replaced before anything
 * leaves the worker: well-known token shapes, plus the exact values of every
 * secret this process holds, whether configured or generated (the API token
 * a first start writes into the data dir, NATS credentials).
 */
const PATTERNS: [string, RegExp][] = [
  ["anthropic", /sk-ant-[A-Za-z0-9_-]{20,}/g],
  ["openai", /sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/g],
  ["voyage", /\bpa-[A-Za-z0-9_-]{20,}/g],
  ["telegram", /\b\d{8,10}:[A-Za-z0-9_-]{35}\b/g],
  ["discord", /\b[MNO][A-Za-z\d_-]{23,27}\.[A-Za-z\d_-]{6}\.[A-Za-z\d_-]{27,40}\b/g],
  ["github", /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g],
  ["aws-key-id", /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/g],
  ["aws-secret", /(aws_secret_access_key|AWS_SECRET_ACCESS_KEY)(\s*[=:]\s*)["']?[A-Za-z0-9/+=]{40}["']?/g],
  ["bearer", /\b(Bearer\s+)[A-Za-z0-9._~+/-]{20,}=*/g],
  // NATS nkey seeds (user, operator, account, server, cluster) and JWTs (NATS user JWTs, Kubernetes service-account tokens).
  ["nkey-seed", /\bS[UOASCN][A-Z2-7]{56}\b/g],
  ["jwt", /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/g],
];

/** The secret lines of a NATS credentials file: the JWT and the nkey seed between their BEGIN/END markers. */
export function credsSecrets(text: string): string[] {
  const out: string[] = [];
  let inside = false;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (/^-+BEGIN .*-+$/.test(line)) inside = true;
    else if (/^-+END .*-+$/.test(line)) inside = false;
    else if (inside && line) out.push(line);
  }
  return out;
}

export class Redactor {
  private values: string[];

  /** `live` is asked at every redaction, for secrets that change while the process runs (a rotated API token). */
  constructor(
    secretValues: readonly (string | undefined)[] = [],
    private live: () => readonly (string | undefined)[] = () => [],
  ) {
    this.values = Redactor.usable(secretValues);
  }

  // Short values would shred ordinary output; real secrets are long. A value with quotes, backslashes or line breaks is also looked for as JSON writes it (a log line).
  private static usable(values: readonly (string | undefined)[]): string[] {
    const out = new Set<string>();
    for (const v of values) {
      if (!v || v.length < 8) continue;
      out.add(v);
      const json = JSON.stringify(v).slice(1, -1);
      if (json !== v) out.add(json);
    }
    return [...out].sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    const live = Redactor.usable(this.live());
    for (const v of live.length ? Redactor.usable([...this.values, ...live]) : this.values) if (out.includes(v)) out = out.split(v).join("[REDACTED]");
    for (const [name, re] of PATTERNS) {
      out = out.replace(re, (...m: string[]) => {
        if (name === "aws-secret") return `${m[1]}${m[2]}[REDACTED:${name}]`;
        if (name === "bearer") return `${m[1]}[REDACTED]`;
        return `[REDACTED:${name}]`;
      });
    }
    return out;
  }
}
