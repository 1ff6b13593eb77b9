/**
 * lockstep/no-find-then-create: in Drizzle code, a read of a table (`.select…().from(t)`, `.query.t.findFirst()`)
 * followed in the same function by an `.insert(t)` without `.onConflictDoNothing()`/`.onConflictDoUpdate()` is a
 * find-then-create: two concurrent callers both find nothing and both insert. The get-or-create ADR's fix is an
 * INSERT … ON CONFLICT that lets the unique index decide (see ensureUser). A read in an enclosing function (around a
 * transaction's callback) counts too; module-level query builders (subqueries) do not.
 */
const SELECTS = new Set(['select', 'selectDistinct', 'selectDistinctOn']);
const FINDS = new Set(['findFirst', 'findMany']);
const ON_CONFLICT = new Set(['onConflictDoNothing', 'onConflictDoUpdate']);

const memberName = (node) =>
  node.type === 'MemberExpression' && !node.computed && node.property.type === 'Identifier' ? node.property.name : undefined;

/** `db.select(…).where(…)` → ['select', 'where']: the method names called along a builder chain, innermost first. */
function chainBelow(call) {
  const names = [];
  for (let node = call; node?.type === 'CallExpression'; ) {
    const name = memberName(node.callee);
    if (name === undefined) break;
    names.unshift(name);
    node = node.callee.object;
  }
  return names;
}

/** The outermost expression a builder call is part of, and the method names called on it after `node`. */
function chainAbove(node) {
  const names = [];
  let top = node;
  while (top.parent?.type === 'MemberExpression' && top.parent.object === top && top.parent.parent?.type === 'CallExpression') {
    names.push(memberName(top.parent));
    top = top.parent.parent;
  }
  return { top, names };
}

/** The variable a builder chain is stored in (`const insert = db.insert(t)…`), if any. */
function storedIn(expression) {
  let node = expression;
  while (node.parent?.type === 'AwaitExpression') node = node.parent;
  return node.parent?.type === 'VariableDeclarator' && node.parent.init === node && node.parent.id.type === 'Identifier'
    ? node.parent.id.name
    : undefined;
}

export default {
  meta: {
    type: 'problem',
    docs: { description: 'Disallow a select of a table followed by an insert into it without onConflict… (find-then-create)' },
    schema: [],
    messages: {
      findThenCreate:
        'Find-then-create on `{{table}}`: it was read at line {{line}}, then inserted without onConflictDoNothing()/onConflictDoUpdate(). Concurrent callers both miss and both insert; let a unique index decide with INSERT … ON CONFLICT.',
    },
  },
  create(context) {
    const source = context.sourceCode;
    /** One entry per function being walked: tables read (name → where first), suspect inserts, guarded variables. */
    const scopes = [];
    const enter = () => scopes.push({ reads: new Map(), suspects: [], guarded: new Set() });
    const exit = () => {
      const scope = scopes.pop();
      for (const suspect of scope.suspects) {
        if (suspect.variable === undefined || !scope.guarded.has(suspect.variable)) context.report(suspect.report);
      }
    };
    /** The first read of `table` in this function or an enclosing one, before the walk reached `node`. */
    const earlierRead = (table) => scopes.map((scope) => scope.reads.get(table)).find(Boolean);
    return {
      ':function': enter,
      ':function:exit': exit,
      CallExpression(node) {
        const scope = scopes.at(-1);
        if (!scope) return; // module-level builders (subqueries) run inside other statements
        const name = memberName(node.callee);
        const table = node.arguments[0] && source.getText(node.arguments[0]);
        const read = (tableName) => {
          if (!scope.reads.has(tableName)) scope.reads.set(tableName, node.loc.start.line);
        };
        if (name === 'from' && table && chainBelow(node.callee.object).some((call) => SELECTS.has(call))) {
          read(table);
        } else if (FINDS.has(name) && memberName(node.callee.object.object ?? {}) === 'query') {
          read(node.callee.object.property.name);
        } else if (name === 'insert' && table) {
          const line = earlierRead(table);
          const { top, names } = chainAbove(node);
          if (line === undefined || names.some((call) => ON_CONFLICT.has(call))) return;
          scope.suspects.push({
            variable: storedIn(top),
            report: { node, messageId: 'findThenCreate', data: { table, line } },
          });
        } else if (ON_CONFLICT.has(name) && node.callee.object.type === 'Identifier') {
          scope.guarded.add(node.callee.object.name);
        }
      },
    };
  },
};
