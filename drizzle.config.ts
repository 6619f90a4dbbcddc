import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  // Tables live beside the area that owns them, as <name>.sql.ts.
  schema: "./core/**/*.sql.ts",
  out: "./core/db/migrations",
});
