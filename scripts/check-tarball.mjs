// Checks an unpacked package (the `package/` folder of `npm pack`'s tarball) for what a user would
// find broken: the entry points, the license, source maps whose sources are missing, and relative
// links in the shipped Markdown that lead out of the package. Prints one line per problem; exit 1 if any.
// Usage: node scripts/check-tarball.mjs DIR
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

const root = resolve(process.argv[2] ?? ".");
const problems = [];
const say = (file, message) => problems.push(`${relative(root, file) || "."}: ${message}`);
const inside = (path) => path === root || path.startsWith(root + sep);

const files = readdirSync(root, { recursive: true, withFileTypes: true })
  .filter((d) => d.isFile())
  .map((d) => join(d.parentPath ?? d.path, d.name));

const pkgFile = join(root, "package.json");
const pkg = JSON.parse(readFileSync(pkgFile, "utf8"));
for (const entry of [pkg.main, pkg.types, ...Object.values(pkg.bin ?? {})]) {
  if (entry !== undefined && !existsSync(join(root, entry))) say(pkgFile, `${entry} is not in the package`);
}
const license = join(root, "LICENSE");
if (!existsSync(license)) say(pkgFile, `license ${pkg.license}, but no LICENSE file`);
else if (!readFileSync(license, "utf8").startsWith(`${pkg.license} License`)) say(license, `does not begin "${pkg.license} License"`);

for (const file of files.filter((f) => f.endsWith(".map"))) {
  const map = JSON.parse(readFileSync(file, "utf8"));
  for (const source of map.sources) {
    const path = resolve(dirname(file), map.sourceRoot ?? "", source);
    if (!inside(path) || !existsSync(path)) say(file, `source ${source} is not in the package`);
  }
}

for (const file of files.filter((f) => f.endsWith(".md"))) {
  // Code blocks and spans hold text that only looks like links (Z85 keys have brackets and parentheses).
  const prose = readFileSync(file, "utf8").replace(/^ *```[^\n]*\n[\s\S]*?^ *```$/gm, "").replace(/`[^`\n]*`/g, "");
  for (const [, target] of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    if (/^[a-z][a-z+.-]*:/i.test(target) || target.startsWith("#")) continue;
    const path = resolve(dirname(file), decodeURI(target.split("#")[0]));
    if (!inside(path) || !existsSync(path)) say(file, `links to ${target}, which is not in the package`);
  }
}

for (const p of problems) console.error(`check-package: ${p}`);
process.exit(problems.length > 0 ? 1 : 0);
