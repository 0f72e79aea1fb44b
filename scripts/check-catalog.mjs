#!/usr/bin/env node
/**
 * Fails `pnpm lint` when a version shared by several packages is written outside the pnpm catalog: a
 * dependency that more than one workspace package uses, or that the catalog already pins, must say
 * `catalog:` so that one line in pnpm-workspace.yaml moves it everywhere at once.
 *
 * No dependencies on purpose: it runs before anything is built and reads the few lines of
 * pnpm-workspace.yaml it needs (`packages:` and `catalog:`, as this repository writes them) by hand.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies'];

/** The entries of a top-level YAML block (`key:` followed by indented lines), comments dropped. */
function yamlBlock(text, key) {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.trimEnd() === `${key}:`);
  if (start === -1) return [];
  const entries = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    if (!line.startsWith(' ')) break;
    entries.push(line.replace(/\s#.*$/, '').trim());
  }
  return entries;
}

const unquote = (value) => value.trim().replace(/^(["'])(.*)\1$/, '$2');

const workspaceYaml = readFileSync(join(ROOT, 'pnpm-workspace.yaml'), 'utf8');
const catalog = new Map(
  yamlBlock(workspaceYaml, 'catalog').map((entry) => {
    const separator = entry.lastIndexOf(':');
    return [unquote(entry.slice(0, separator)), unquote(entry.slice(separator + 1))];
  }),
);

/** The root and every package matched by `packages:` (plain folders and `folder/*`). */
function workspaceDirectories() {
  const directories = [ROOT];
  for (const entry of yamlBlock(workspaceYaml, 'packages')) {
    const pattern = unquote(entry.replace(/^-\s*/, ''));
    if (pattern.endsWith('/*')) {
      const parent = join(ROOT, pattern.slice(0, -2));
      for (const child of readdirSync(parent, { withFileTypes: true })) {
        if (child.isDirectory()) directories.push(join(parent, child.name));
      }
    } else {
      directories.push(join(ROOT, pattern));
    }
  }
  return directories.filter((directory) => existsSync(join(directory, 'package.json')));
}

const usages = [];
for (const directory of workspaceDirectories()) {
  const manifestPath = join(directory, 'package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  for (const field of DEPENDENCY_FIELDS) {
    for (const [name, version] of Object.entries(manifest[field] ?? {})) {
      // Our own packages are linked, not versioned.
      if (version.startsWith('workspace:')) continue;
      usages.push({ manifest: relative(ROOT, manifestPath), pkg: manifest.name, field, name, version });
    }
  }
}

const packagesUsing = new Map();
for (const usage of usages) {
  packagesUsing.set(usage.name, new Set([...(packagesUsing.get(usage.name) ?? []), usage.pkg]));
}

const problems = [];
for (const usage of usages) {
  const users = packagesUsing.get(usage.name);
  if (usage.version.startsWith('catalog:')) {
    if (!catalog.has(usage.name)) {
      problems.push(
        `${usage.manifest} (${usage.pkg}): ${usage.name} says catalog: but the catalog has no entry for it`,
      );
    }
    continue;
  }
  if (catalog.has(usage.name)) {
    problems.push(
      `${usage.manifest} (${usage.pkg}): ${usage.field}.${usage.name} is "${usage.version}"; ` +
        `the catalog pins it (${catalog.get(usage.name)}): write "catalog:"`,
    );
  } else if (users.size > 1) {
    problems.push(
      `${usage.manifest} (${usage.pkg}): ${usage.field}.${usage.name} is "${usage.version}"; ` +
        `used by ${[...users].sort().join(', ')}: pin it once in the catalog of pnpm-workspace.yaml and write "catalog:"`,
    );
  }
}

if (problems.length > 0) {
  process.stderr.write(
    `Versions shared by several packages belong in the pnpm catalog (pnpm-workspace.yaml):\n${problems
      .map((problem) => `  ${problem}`)
      .join('\n')}\n`,
  );
  process.exit(1);
}
process.stdout.write(
  `catalog: ${usages.length} external dependencies checked, shared ones all use catalog:\n`,
);
