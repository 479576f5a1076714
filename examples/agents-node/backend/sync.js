// `npm run sync`: bring the Agents table in line with agents.json, and log the run as a
// session with one conversation line (seed 000's "Backend Sync Script").
import { readFile } from "node:fs/promises";

import { banner, connect, quoted, tables } from "./db.js";

const definitions = JSON.parse(await readFile(new URL("./agents.json", import.meta.url)));
const { agents, sessions, conversations } = tables;
const client = await connect();
try {
  banner();
  await client.query("BEGIN");
  for (const { name, model } of definitions) {
    await client.query(
      `INSERT INTO ${quoted(agents)} (name, model) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET model = EXCLUDED.model`,
      [name, model],
    );
  }
  const bot = await client.query(`SELECT id FROM ${quoted(agents)} WHERE name = 'sync-bot'`);
  const session = await client.query(
    `INSERT INTO ${quoted(sessions)} (agent_id, status) VALUES ($1, 'closed') RETURNING id`,
    [bot.rows[0].id],
  );
  await client.query(
    `INSERT INTO ${quoted(conversations)} (session_id, role, content) VALUES ($1, 'system', $2)`,
    [session.rows[0].id, `synced ${definitions.length} agents`],
  );
  await client.query("COMMIT");
  const total = await client.query(`SELECT count(*)::int AS n FROM ${quoted(agents)}`);
  console.log(`synced ${definitions.length} agents into ${agents} (${total.rows[0].n} rows)`);
} catch (error) {
  await client.query("ROLLBACK");
  throw error;
} finally {
  await client.end();
}
