// Synthetic users, a workshop and a test training document (seed 003: development and
// test never hold real users). Idempotent: run it twice, the rows are there once.
import { connect, environment } from "./client.js";
import { trainingDocuments, users, workshopProgress, workshops } from "./schema.js";

if (environment === "production" || environment === "staging") {
  console.error(`refusing to seed synthetic data into ${environment}`);
  process.exit(3);
}
const { pool, db } = connect();
try {
  await db.transaction(async (tx) => {
    const people = await tx
      .insert(users)
      .values([
        { email: "ada@example.test", name: "Ada", role: "facilitator" },
        { email: "lin@example.test", name: "Lin", betaTester: true },
        { email: "sam@example.test", name: "Sam" },
      ])
      .onConflictDoNothing()
      .returning({ id: users.id });
    if (people.length === 0) return; // seeded before
    const [workshop] = await tx
      .insert(workshops)
      .values({ title: "Finding your voice", facilitatorId: people[0].id })
      .returning({ id: workshops.id });
    await tx.insert(workshopProgress).values(
      people.slice(1).map((person) => ({ workshopId: workshop.id, userId: person.id, step: 1 })),
    );
    await tx.insert(trainingDocuments).values({
      persona: "coach",
      title: "Test document",
      body: "Synthetic text for training the persona safely.",
      uploadedBy: people[0].id,
    });
  });
  console.log(`seeded ${environment}`);
} finally {
  await pool.end();
}
