// Compiles contracts/src with the solc-js pinned in package.json (standard JSON, optimizer on)
// and writes contracts/out/<Contract>.json with the ABI, the creation bytecode and the compiler
// version. `--check` recompiles and exits non-zero if the committed artifacts differ.
//
//   npm install --prefix contracts && node contracts/build.mjs [--check]
//
// Imports resolve through the remappings below to the vendored sources under contracts/lib.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = process.env.CONTRACTS_ROOT ? path.resolve(process.env.CONTRACTS_ROOT) : here;
const solc = createRequire(path.join(here, 'package.json'))('solc');
const check = process.argv.includes('--check');

/** The contracts compiled, each from src/<name>.sol. */
const CONTRACTS = ['AttestationTaskManager'];
const MIDDLEWARE = 'lib/eigenlayer-middleware/';
const REMAPPINGS = [
  `eigenlayer-middleware/=${MIDDLEWARE}`,
  `eigenlayer-contracts/=${MIDDLEWARE}lib/eigenlayer-contracts/`,
  `@openzeppelin/=${MIDDLEWARE}lib/openzeppelin-contracts/`,
  `@openzeppelin-upgrades/=${MIDDLEWARE}lib/openzeppelin-contracts-upgradeable/`,
];
const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'shanghai',
  remappings: REMAPPINGS,
  metadata: { bytecodeHash: 'ipfs' },
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
};

/** Source unit names are paths relative to the contracts directory; nothing outside it. */
const loaded = new Set();
function findImport(name) {
  const file = path.resolve(root, name);
  if (!file.startsWith(root + path.sep) || !fs.existsSync(file)) {
    return { error: `not found under ${root}: ${name}` };
  }
  loaded.add(name);
  return { contents: fs.readFileSync(file, 'utf8') };
}

const sources = {};
for (const name of CONTRACTS) {
  const unit = `src/${name}.sol`;
  sources[unit] = { content: fs.readFileSync(path.join(root, unit), 'utf8') };
}
const input = { language: 'Solidity', sources, settings: SETTINGS };
const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport }));
const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
for (const e of output.errors ?? []) {
  if (e.severity === 'error' || !e.sourceLocation?.file?.startsWith('lib/')) {
    console.error(e.formattedMessage);
  }
}
if (errors.length > 0) {
  console.error(`build.mjs: ${errors.length} compile error(s)`);
  process.exit(1);
}
if (process.env.LIST_SOURCES) {
  fs.writeFileSync(process.env.LIST_SOURCES, [...loaded].sort().join('\n') + '\n');
}

let stale = 0;
for (const name of CONTRACTS) {
  const c = output.contracts[`src/${name}.sol`][name];
  const artifact = {
    contractName: name,
    compiler: `solc-js ${solc.version()}`,
    settings: { optimizer: SETTINGS.optimizer, evmVersion: SETTINGS.evmVersion },
    abi: c.abi,
    bytecode: `0x${c.evm.bytecode.object}`,
  };
  const text = `${JSON.stringify(artifact, null, 2)}\n`;
  const out = path.join(here, 'out', `${name}.json`);
  if (check) {
    const committed = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
    if (committed !== text) {
      console.error(`build.mjs --check: ${path.relative(process.cwd(), out)} is not the build of contracts/src (run node contracts/build.mjs)`);
      stale++;
    } else {
      console.log(`build.mjs --check: ${name} up to date (${solc.version()})`);
    }
  } else {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, text);
    console.log(`build.mjs: wrote ${path.relative(process.cwd(), out)} (${solc.version()}, ${(c.evm.bytecode.object.length / 2) | 0} bytes)`);
  }
}
process.exit(stale > 0 ? 1 : 0);
