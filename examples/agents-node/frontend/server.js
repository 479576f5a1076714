// `npm run dev`: the frontend's API server. GET /api/agents lists this environment's
// agents with their session counts. APP_ENV comes from this package's .env, or from
// `dbenv run ENV -- npm run dev` (which wins: dotenv never overrides a set variable).
import "dotenv/config";
import http from "node:http";

import pg from "pg";

const appEnv = process.env.APP_ENV ?? "test";
const prefix = appEnv === "production" ? "" : "test_";
const agents = `"${prefix}Agents"`;
const sessions = `"${prefix}Sessions"`;

if (!process.env.DATABASE_URL) {
  console.error("DATABASE_URL is not set: start me with `dbenv run ENV -- npm run dev`");
  process.exit(2);
}
const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  application_name: `agents-node:${appEnv}:frontend`,
  max: 2,
});

const server = http.createServer(async (request, response) => {
  if (request.url !== "/api/agents") {
    response.writeHead(404).end();
    return;
  }
  try {
    const { rows } = await pool.query(
      `SELECT a.name, a.model, count(s.id)::int AS sessions
       FROM ${agents} a LEFT JOIN ${sessions} s ON s.agent_id = a.id
       GROUP BY a.id ORDER BY a.name`,
    );
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ environment: appEnv, agents: rows }));
  } catch (error) {
    response.writeHead(500, { "content-type": "text/plain" }).end(String(error.message));
  }
});

server.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  console.log(`📊 Environment: ${appEnv}`);
  console.log(`📋 Tables: ${prefix}Agents, ${prefix}Sessions, ${prefix}Conversations`);
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => server.close(() => pool.end().then(() => process.exit(0))));
}
