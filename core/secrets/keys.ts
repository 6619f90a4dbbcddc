import { defineKeys, type KeyValues } from "../config/keys.ts";

export const secretsKeys = defineKeys({
  SECRETS_KEY: {
    kind: "secret",
    help: "the key that encrypts stored secrets: 32 bytes as base64 or hex (from the environment or a Kubernetes Secret); unset uses SECRETS_KEY_FILE",
  },
  SECRETS_KEY_FILE: {
    kind: "path",
    help: "file holding that key (a mounted Kubernetes Secret); unset: secrets.key in the data dir, created (0600) on first start",
  },
});

export type SecretsSettings = KeyValues<typeof secretsKeys>;
