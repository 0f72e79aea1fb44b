#!/usr/bin/env node
/**
 * Fails when source files import each other in a loop, or when a lower layer of packages/sync imports a
 * higher one: imports run one way, inside packages too, so no two files import each other, even for a
 * type. Dependency-free on purpose: it needs only Node, and a regex reading of our own import lines (one
 * statement per line start, as biome formats them) is enough; TypeScript's parser would be a dependency.
 *
 *   node scripts/check-import-cycles.mjs              check the repository
 *   node scripts/check-import-cycles.mjs --self-test  check the checker on small made-up graphs
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Folders whose .ts/.tsx files are read: each app's and package's sources and benches, and e2e. */
const SOURCE_GLOBS = [
  ['apps', 'src'],
  ['apps', 'bench'],
  ['packages', 'src'],
  ['packages', 'bench'],
];
const SOURCE_DIRS = ['e2e/src', 'e2e/bench'];

/**
 * Layers inside packages/sync: a file under `from` may import nothing under any of `notFrom`.
 * The file readers sit below the connectors that use them, and both sit below the engine;
 * logs are read by the api and worker without the engine. connectors/source.ts is the contract
 * every reader and connector produces, so it is the one file of connectors/ the readers may use.
 */
const LAYER_RULES = [
  {
    from: 'packages/sync/src/files/',
    notFrom: ['packages/sync/src/engine/', 'packages/sync/src/connectors/'],
    except: ['packages/sync/src/connectors/source.ts'],
  },
  { from: 'packages/sync/src/logs/', notFrom: ['packages/sync/src/engine/'], except: [] },
];

/**
 * Imports known to close a loop that is being removed on another branch, so lint passes meanwhile.
 * Each is left out of the graph before checking; delete the entry once that work lands (the check
 * says when an entry no longer matches any import).
 */

// `import … from '…'`, `export … from '…'`, `import type …`, `import '…'`: statements start a line.
// `[^;'"]*?` lets a statement span lines (multi-line import lists) without running into the next one.
const STATIC_IMPORT =
  /^[ \t]*(?:import|export)\b(?:[^;'"]*?\bfrom\b)?\s*'([^']+)'|^[ \t]*(?:import|export)\b(?:[^;'"]*?\bfrom\b)?\s*"([^"]+)"/gm;
// `import('…')`: a lazily loaded module still depends on its importer's loading order.
const DYNAMIC_IMPORT = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function listSourceFiles() {
  const dirs = [...SOURCE_DIRS];
  for (const [parent, child] of SOURCE_GLOBS) {
    const parentDir = join(ROOT, parent);
    if (!existsSync(parentDir)) continue;
    for (const name of readdirSync(parentDir)) dirs.push(join(parent, name, child));
  }
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.tsx?$/.test(entry.name)) files.push(path);
    }
  };
  for (const dir of dirs) {
    const abs = join(ROOT, dir);
    if (existsSync(abs) && statSync(abs).isDirectory()) walk(abs);
  }
  return files.sort();
}

/** The relative specifiers a file imports, with the line each is on. */
export function parseImports(text) {
  const found = [];
  const lineOf = (index) => text.slice(0, index).split('\n').length;
  for (const match of text.matchAll(STATIC_IMPORT)) {
    const specifier = match[1] ?? match[2];
    const at = match.index + match[0].lastIndexOf(specifier);
    found.push({ specifier, line: lineOf(at) });
  }
  for (const match of text.matchAll(DYNAMIC_IMPORT)) {
    found.push({ specifier: match[1], line: lineOf(match.index) });
  }
  return found.filter(({ specifier }) => specifier.startsWith('./') || specifier.startsWith('../'));
}

/** The file a relative specifier names, as TypeScript would find it; null for non-source files. */
function resolveSpecifier(fromFile, specifier) {
  const base = resolve(dirname(fromFile), specifier);
  const candidates = [
    base,
    base.replace(/\.js$/, '.ts'),
    base.replace(/\.jsx$/, '.tsx'),
    `${base}.ts`,
    `${base}.tsx`,
    join(base, 'index.ts'),
    join(base, 'index.tsx'),
  ];
  for (const candidate of candidates) {
    if (/\.tsx?$/.test(candidate) && existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

/**
 * Strongly connected components of `graph` (Map node → Map target → line), by Tarjan's algorithm,
 * iterative so a long import chain cannot overflow the stack. Returns only the components that hold a
 * loop: two or more files, or one file importing itself.
 */
export function findCycles(graph) {
  const index = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const components = [];
  let counter = 0;
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work = [{ node: start, targets: [...(graph.get(start)?.keys() ?? [])], next: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      if (frame.next < frame.targets.length) {
        const target = frame.targets[frame.next++];
        if (!index.has(target)) {
          index.set(target, counter);
          low.set(target, counter++);
          stack.push(target);
          onStack.add(target);
          work.push({ node: target, targets: [...(graph.get(target)?.keys() ?? [])], next: 0 });
        } else if (onStack.has(target)) {
          low.set(frame.node, Math.min(low.get(frame.node), index.get(target)));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent), low.get(frame.node)));
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        const component = [];
        let member;
        do {
          member = stack.pop();
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        const selfLoop = graph.get(frame.node)?.has(frame.node) ?? false;
        if (component.length > 1 || selfLoop) components.push(component.sort());
      }
    }
  }
  return components;
}

/** One concrete loop through a component's first file (shortest, by breadth-first search), for the message. */
export function loopThrough(graph, component) {
  const members = new Set(component);
  const start = component[0];
  const previous = new Map();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift();
    for (const target of graph.get(node)?.keys() ?? []) {
      if (!members.has(target)) continue;
      if (target === start) {
        const path = [start];
        for (let at = node; at !== start; at = previous.get(at)) path.push(at);
        return [...path.slice(0, 1), ...path.slice(1).reverse(), start];
      }
      if (!previous.has(target)) {
        previous.set(target, node);
        queue.push(target);
      }
    }
  }
  return [start, start];
}

export function layerViolations(graph, rules = LAYER_RULES) {
  const violations = [];
  for (const [file, targets] of graph) {
    for (const rule of rules) {
      if (!file.startsWith(rule.from)) continue;
      for (const [target, line] of targets) {
        if (rule.except.includes(target)) continue;
        if (rule.notFrom.some((layer) => target.startsWith(layer))) violations.push({ file, line, target });
      }
    }
  }
  return violations;
}

function buildGraph() {
  const graph = new Map();
  for (const abs of listSourceFiles()) {
    const file = relative(ROOT, abs).split(sep).join('/');
    const targets = new Map();
    for (const { specifier, line } of parseImports(readFileSync(abs, 'utf8'))) {
      const resolved = resolveSpecifier(abs, specifier);
      if (resolved === null) continue;
      const target = relative(ROOT, resolved).split(sep).join('/');
      if (!targets.has(target)) targets.set(target, line);
    }
    graph.set(file, targets);
  }
  return graph;
}

function report(graph) {
  const cycles = findCycles(graph);
  const violations = layerViolations(graph);
  for (const component of cycles) {
    const loop = loopThrough(graph, component);
    console.error(`Import loop among ${component.length} file(s):`);
    for (let i = 0; i < loop.length - 1; i++) {
      console.error(`  ${loop[i]}:${graph.get(loop[i]).get(loop[i + 1])} imports ${loop[i + 1]}`);
    }
    if (component.length > loop.length - 1) {
      console.error(
        `  (the loop's component also holds: ${component.filter((f) => !loop.includes(f)).join(', ')})`,
      );
    }
    console.error('  Move what they share into the lowest of them, so imports run one way.');
  }
  for (const { file, line, target } of violations) {
    console.error(`Layer rule: ${file}:${line} imports ${target}, a layer above it.`);
  }
  return cycles.length + violations.length;
}

function selfTest(verbose) {
  const graphOf = (edges) => {
    const graph = new Map();
    for (const [from, to] of edges) {
      if (!graph.has(from)) graph.set(from, new Map());
      if (!graph.has(to)) graph.set(to, new Map());
      graph.get(from).set(to, 1);
    }
    return graph;
  };
  const checks = [
    [
      'a chain has no loop',
      findCycles(
        graphOf([
          ['a', 'b'],
          ['b', 'c'],
        ]),
      ).length === 0,
    ],
    [
      'two files importing each other are a loop',
      JSON.stringify(
        findCycles(
          graphOf([
            ['a', 'b'],
            ['b', 'a'],
          ]),
        ),
      ) === '[["a","b"]]',
    ],
    ['a file importing itself is a loop', findCycles(graphOf([['a', 'a']])).length === 1],
    [
      'a three-file loop is one component, shown as a path back to its start',
      (() => {
        const graph = graphOf([
          ['x', 'a'],
          ['a', 'b'],
          ['b', 'c'],
          ['c', 'a'],
          ['c', 'd'],
        ]);
        const cycles = findCycles(graph);
        return cycles.length === 1 && loopThrough(graph, cycles[0]).join('>') === 'a>b>c>a';
      })(),
    ],
    [
      'the parser sees import type, export from, multi-line lists and lazy imports, and skips packages',
      JSON.stringify(
        parseImports(
          "import type { A } from './a.ts';\nexport * from '../b.ts';\nimport {\n  c,\n} from './c.ts';\nimport x from 'zod';\nconst D = lazy(() => import('./d.tsx'));\n",
        ).map((i) => `${i.specifier}@${i.line}`),
      ) === '["./a.ts@1","../b.ts@2","./c.ts@5","./d.tsx@7"]',
    ],
    [
      'the layer rule flags a reader importing the engine, and lets it import the connector contract',
      JSON.stringify(
        layerViolations(
          graphOf([
            ['packages/sync/src/files/a.ts', 'packages/sync/src/engine/b.ts'],
            ['packages/sync/src/files/a.ts', 'packages/sync/src/connectors/source.ts'],
            ['packages/sync/src/engine/b.ts', 'packages/sync/src/files/a.ts'],
          ]),
        ).map((v) => v.target),
      ) === '["packages/sync/src/engine/b.ts"]',
    ],
  ];
  let failed = 0;
  for (const [name, ok] of checks) {
    if (verbose || !ok) console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}`);
    if (!ok) failed++;
  }
  return failed;
}

// The self-test also runs (quietly) before every check: a checker whose parser broke would pass everything.
if (process.argv.includes('--self-test')) {
  process.exit(selfTest(true) === 0 ? 0 : 1);
}
if (selfTest(false) > 0) {
  console.error('The import checker failed its own self-test (above); fix scripts/check-import-cycles.mjs.');
  process.exit(1);
}
const graph = buildGraph();
const problems = report(graph);
if (problems > 0) process.exit(1);
console.log(`No import loops among ${graph.size} files.`);
