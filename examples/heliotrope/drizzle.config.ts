// drizzle-kit's configuration: the schema file and the database it pushes to.
// The URL is the environment's: `dbenv run ENV -- npx drizzle-kit push`, or dbenv's
// own reset (schema_source = "cmd:npx drizzle-kit push --force"), which points
// DATABASE_URL at the database it is building.
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./server/db/schema.js",
  dbCredentials: { url: process.env.DATABASE_URL! },
});
