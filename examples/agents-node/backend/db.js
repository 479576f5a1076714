// The backend's environment and tables, as seed 000's app has them: APP_ENV from this
// package's .env picks the tables (production: Agents, ...; anything else: test_Agents,
// ...). dotenv never overrides a variable already set, so under `dbenv run ENV -- ...`
// dbenv's APP_ENV and DATABASE_URL win over the file.
import "dotenv/config";
import pg from "pg";

export const appEnv = process.env.APP_ENV ?? "test";
export const prefix = appEnv === "production" ? "" : "test_";
export const tables = {
  agents: `${prefix}Agents`,
  sessions: `${prefix}Sessions`,
  conversations: `${prefix}Conversations`,
};

export function quoted(name) {
  return `"${name.replaceAll('"', '""')}"`;
}

export async function connect() {
  if (!process.env.DATABASE_URL) {
    throw new Error("DATABASE_URL is not set: start me with `dbenv run ENV -- npm run ...`");
  }
  const client = new pg.Client({
    connectionString: process.env.DATABASE_URL,
    application_name: `agents-node:${appEnv}:backend`,
  });
  await client.connect();
  return client;
}

export function banner() {
  console.log(`📊 Environment: ${appEnv}`);
  console.log(`📋 Tables: ${Object.values(tables).join(", ")}`);
}
