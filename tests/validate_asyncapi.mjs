// Parses an AsyncAPI document with the AsyncAPI initiative's own parser
// (@asyncapi/parser) and prints its diagnostics as JSON: [{severity, message, path}].
// Severity 0 is an error. Usage: node validate_asyncapi.mjs PARSER_DIR DOCUMENT
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const [parserDir, documentPath] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(parserDir), "noop.js"));
const { Parser } = require("@asyncapi/parser");
const { diagnostics } = await new Parser().parse(readFileSync(documentPath, "utf8"));
console.log(JSON.stringify(diagnostics.map((d) => ({ severity: d.severity, message: d.message, path: d.path }))));
