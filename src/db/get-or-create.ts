/** Where a get-or-create's row came from: the insert's own statement, or the re-read after it. */
export type GetOrCreated<Inserted, Stored = Inserted> = { from: 'insert'; row: Inserted } | { from: 'reread'; row: Stored };

/**
 * Get-or-create, insert first: a unique index decides, never a prior read. `insert` is an INSERT … ON CONFLICT DO
 * NOTHING … RETURNING (which may also select the stored row, in the same statement, for the usual case), or a
 * statement that fails on a conflict, which `conflicted` recognises. With no row back, `reread` looks again in a new
 * statement: when a concurrent first insert won, the insert waited for its commit, but its own snapshot predates
 * it. Undefined when the re-read finds nothing either (the conflict was on another unique index); a failure the
 * re-read cannot explain is thrown as it was.
 */
export async function insertOrReread<Inserted, Stored = Inserted>(
  insert: () => PromiseLike<readonly Inserted[]>,
  reread: () => PromiseLike<readonly Stored[]>,
  conflicted: (err: unknown) => boolean = () => false,
): Promise<GetOrCreated<Inserted, Stored> | undefined> {
  let inserted: readonly Inserted[];
  try {
    inserted = await insert();
  } catch (err) {
    if (!conflicted(err)) throw err;
    const [stored] = await reread();
    if (stored === undefined) throw err;
    return { from: 'reread', row: stored };
  }
  if (inserted[0] !== undefined) return { from: 'insert', row: inserted[0] };
  const [stored] = await reread();
  return stored === undefined ? undefined : { from: 'reread', row: stored };
}
