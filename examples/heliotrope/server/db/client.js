// The app's one database handle. DATABASE_URL and NODE_ENV come from the process:
// `dbenv run ENV -- npm run dev` sets both for the environment it names.
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";

import * as schema from "./schema.js";

export const environment = process.env.NODE_ENV ?? "development";

export function connect() {
  const url = process.env.DATABASE_URL;
  if (!url) {
    throw new Error(
      "DATABASE_URL is not set: start the app with `dbenv run ENV -- npm run dev`",
    );
  }
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  return { pool, db: drizzle(pool, { schema }) };
}

// Where the app is connected, for its logs: host and database, never the password.
export function where(url = process.env.DATABASE_URL ?? "") {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
}
