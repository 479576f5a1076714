// `npm run build:staging` / `build:production`: the deploy build records which
// environment and database it was built for (dist/build.json; never the password).
// The seed's scripts set NODE_ENV=staging themselves, whatever DATABASE_URL said; here
// the tier comes from `dbenv run staging -- npm run build:staging`, which sets NODE_ENV
// and DATABASE_URL together, and a build started for another tier stops.
import { mkdirSync, writeFileSync } from "node:fs";

import { environment, where } from "../server/db/client.js";

const wanted = process.argv[2];
if (environment !== wanted) {
  console.error(
    `build:${wanted} runs with NODE_ENV=${environment}: start it with ` +
      `\`dbenv run ${wanted} -- npm run build:${wanted}\``,
  );
  process.exit(2);
}
if (!process.env.DATABASE_URL) {
  console.error(`build for ${environment}: DATABASE_URL is not set`);
  process.exit(2);
}
mkdirSync("dist", { recursive: true });
const info = { environment, database: where(), builtAt: new Date().toISOString() };
writeFileSync("dist/build.json", JSON.stringify(info, null, 2) + "\n");
console.log(`built for ${environment} against ${info.database}`);
