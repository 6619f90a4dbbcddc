/**
 * Secrets in command output or HTTP bodies are replaced before anything
 * leaves the worker: well-known token shapes, plus the exact values of the
 * secrets this process was configured with.
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
];

export class Redactor {
  private values: string[];

  constructor(secretValues: (string | undefined)[] = []) {
    // Short values would shred ordinary output; real secrets are long.
    this.values = [...new Set(secretValues.filter((v): v is string => !!v && v.length >= 8))].sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join("[REDACTED]");
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
