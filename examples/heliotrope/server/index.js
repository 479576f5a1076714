// Heliotrope's API server. `npm run dev` serves /api/workshops; `npm run status` prints
// the environment, the database it reaches and its row counts, then exits.
import http from "node:http";

import { count } from "drizzle-orm";

import { connect, environment, where } from "./db/client.js";
import { trainingDocuments, users, workshops } from "./db/schema.js";

async function counts(db) {
  const result = {};
  for (const [name, table] of Object.entries({ users, workshops, trainingDocuments })) {
    const [row] = await db.select({ n: count() }).from(table);
    result[name] = row.n;
  }
  return result;
}

async function status() {
  const { pool, db } = connect();
  try {
    console.log(`Environment: ${environment}`);
    console.log(`Database: ${where()}`);
    console.log(`Debug panel: ${process.env.FEATURE_DEBUG_PANEL ?? "false"}`);
    console.log(`Rows: ${JSON.stringify(await counts(db))}`);
  } finally {
    await pool.end();
  }
}

function serve() {
  const { db } = connect();
  const server = http.createServer(async (request, response) => {
    if (request.url !== "/api/workshops") {
      response.writeHead(404).end();
      return;
    }
    const rows = await db.select().from(workshops).orderBy(workshops.id);
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ environment, workshops: rows }));
  });
  server.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
    console.log(`Environment: ${environment}; database ${where()}`);
    console.log(`listening on http://127.0.0.1:${server.address().port}`);
  });
}

if (process.argv.includes("--status")) {
  await status();
} else {
  serve();
}
