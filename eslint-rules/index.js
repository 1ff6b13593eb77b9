/** The project's own ESLint rules, loaded by eslint.config.js as the `lockstep` plugin. */
import noFindThenCreate from './no-find-then-create.js';

export default { meta: { name: 'lockstep' }, rules: { 'no-find-then-create': noFindThenCreate } };
