import { statSync } from 'node:fs';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Projects whose files run longest, first; vitest's own order runs projects one after another, by name. */
const PROJECT_ORDER = ['import', 'e2e', 'db-pg15', 'db-neon', 'db-pgbouncer', 'versions', 'db-pg', 'unit'];

/**
 * Longest first, across projects: the few long files (imports, serverless offline) start at once instead of
 * after every db file, so the run does not end on one busy worker while the others idle. Within a project, the
 * larger file first.
 */
export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (spec: TestSpecification) => PROJECT_ORDER.indexOf(spec.project.name);
    const size = (spec: TestSpecification) => statSync(spec.moduleId).size;
    return [...files].sort((a, b) => rank(a) - rank(b) || size(b) - size(a));
  }
}
